import { type JWK, type JWTPayload, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";

/** A key a test can sign with: the private part and the kid it claims. */
export interface TestSigningKey {
  kid: string;
  privateKey: CryptoKey;
}

/** What the security suite needs to know about the worker it attacks. */
export interface SecurityTarget {
  /** Called once before the suite: keys, users, rotations. */
  setup(): Promise<{
    /** A key the issuer publishes and signs with now. */
    current: TestSigningKey;
    /** Its public JWK as published (for the HS256 key-confusion attack). */
    currentPublicJwk: JWK;
    /** A key the issuer published once and has retired. */
    retired: TestSigningKey;
    /** Claims of a valid token for the protected route. */
    validClaims: () => JWTPayload;
    /** A scope the protected route requires (dropped to provoke 403). */
    requiredScope: string;
    /** The issuer and audience the target expects. */
    issuer: string;
    audience: string;
  }>;
  /** Calls the protected route; `authorization` undefined sends no header. */
  call(authorization: string | undefined): Promise<Response>;
}

function base64url(value: string | Uint8Array): string {
  const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function signToken(
  key: TestSigningKey,
  payload: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: key.kid, ...header })
    .sign(key.privateKey);
}

/** A fresh ES256 key the issuer has never seen. */
export async function strangerKey(kid = `stranger-${crypto.randomUUID()}`): Promise<TestSigningKey> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  return { kid, privateKey: pair.privateKey };
}

/**
 * The access-token attacks every protected edgebank route must refuse: each must answer 401
 * with a Bearer challenge (403 insufficient_scope for a missing scope) as a problem document.
 */
export function describeAccessTokenSecurity(name: string, target: SecurityTarget): void {
  describe(`access-token security: ${name}`, () => {
    let ctx: Awaited<ReturnType<SecurityTarget["setup"]>>;
    beforeAll(async () => {
      ctx = await target.setup();
    }, 30_000);

    const expectRefused = async (authorization: string | undefined, status = 401) => {
      const response = await target.call(authorization);
      expect(response.status).toBe(status);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(response.headers.get("www-authenticate") ?? "").toMatch(/^Bearer/);
      return (await response.json()) as { code: string; detail: string };
    };
    const now = () => Math.floor(Date.now() / 1000);

    it("accepts a valid token", async () => {
      const response = await target.call(`Bearer ${await signToken(ctx.current, ctx.validClaims())}`);
      expect(response.status).toBeLessThan(300);
    });

    it("refuses a request without a token", async () => {
      expect((await expectRefused(undefined)).code).toBe("unauthorized");
    });

    it.each(["Basic dXNlcjpwYXNz", "Bearer", "Bearer not.a.jwt!", "Token abc.def.ghi", "bearer abc.def.ghi"])(
      "refuses the malformed header %j",
      async (header) => {
        await expectRefused(header);
      },
    );

    it("refuses alg none", async () => {
      const header = base64url(JSON.stringify({ alg: "none", typ: "at+jwt", kid: ctx.current.kid }));
      await expectRefused(`Bearer ${header}.${base64url(JSON.stringify(ctx.validClaims()))}.`);
    });

    it("refuses HS256 signed with the issuer's public key", async () => {
      const header = base64url(JSON.stringify({ alg: "HS256", typ: "at+jwt", kid: ctx.current.kid }));
      const body = base64url(JSON.stringify(ctx.validClaims()));
      for (const secret of [JSON.stringify(ctx.currentPublicJwk), String(ctx.currentPublicJwk.x)]) {
        const key = await crypto.subtle.importKey(
          "raw",
          new TextEncoder().encode(secret),
          { name: "HMAC", hash: "SHA-256" },
          false,
          ["sign"],
        );
        const signature = new Uint8Array(
          await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${header}.${body}`)),
        );
        await expectRefused(`Bearer ${header}.${body}.${base64url(signature)}`);
      }
    });

    it("refuses an expired token", async () => {
      const detail = (
        await expectRefused(
          `Bearer ${await signToken(ctx.current, { ...ctx.validClaims(), iat: now() - 3600, exp: now() - 120 })}`,
        )
      ).detail;
      expect(detail).toMatch(/expired/);
    });

    it("refuses a token that is not valid yet", async () => {
      await expectRefused(`Bearer ${await signToken(ctx.current, { ...ctx.validClaims(), nbf: now() + 600 })}`);
    });

    it("refuses a wrong issuer", async () => {
      await expectRefused(
        `Bearer ${await signToken(ctx.current, { ...ctx.validClaims(), iss: "https://issuer.evil.example" })}`,
      );
    });

    it("refuses a wrong audience", async () => {
      await expectRefused(`Bearer ${await signToken(ctx.current, { ...ctx.validClaims(), aud: "some-other-api" })}`);
    });

    it("refuses an unknown kid", async () => {
      await expectRefused(`Bearer ${await signToken(await strangerKey(), ctx.validClaims())}`);
    });

    it("refuses a forged signature under a known kid", async () => {
      await expectRefused(`Bearer ${await signToken(await strangerKey(ctx.current.kid), ctx.validClaims())}`);
    });

    it("refuses a tampered payload", async () => {
      const [header, , signature] = (await signToken(ctx.current, ctx.validClaims())).split(".");
      const forged = base64url(
        JSON.stringify({
          ...ctx.validClaims(),
          sub: "usr_someone_else",
          scope: `${ctx.requiredScope} operator auditor`,
        }),
      );
      await expectRefused(`Bearer ${header}.${forged}.${signature}`);
    });

    it("refuses a token signed by a retired key", async () => {
      await expectRefused(`Bearer ${await signToken(ctx.retired, ctx.validClaims())}`);
    });

    it("refuses a token without the required scope with 403 insufficient_scope", async () => {
      const claims = ctx.validClaims();
      const scope = String(claims.scope)
        .split(" ")
        .filter((s) => s !== ctx.requiredScope)
        .join(" ");
      const problem = await expectRefused(`Bearer ${await signToken(ctx.current, { ...claims, scope })}`, 403);
      expect(problem.code).toBe("forbidden");
    });
  });
}

/** The settings a service's tests mint tokens from: the stand-in issuer's private JWK and the claims. */
export interface TestIssuerEnv {
  TEST_SIGNING_JWK: string;
  TOKEN_ISSUER: string;
  TOKEN_AUDIENCE: string;
}

/** Imports a private ES256 JWK (with its kid) as a test signing key. */
export async function importTestSigningKey(json: string): Promise<TestSigningKey> {
  const jwk = JSON.parse(json) as JsonWebKey & { kid: string };
  const privateKey = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  return { kid: jwk.kid, privateKey };
}

/**
 * A fresh caller of a service under test: a new subject (a user, or a machine client when the
 * scope is a service scope) and an access token for it with `scope`, signed by the stand-in issuer.
 */
export async function testCaller(
  env: TestIssuerEnv,
  scope: string,
  kind: "user" | "client" = "user",
): Promise<{ id: string; token: string }> {
  const id = `${kind === "user" ? "usr" : "cli"}_test_${crypto.randomUUID().replaceAll("-", "")}`;
  const now = Math.floor(Date.now() / 1000);
  const token = await signToken(await importTestSigningKey(env.TEST_SIGNING_JWK), {
    iss: env.TOKEN_ISSUER,
    aud: env.TOKEN_AUDIENCE,
    sub: id,
    scope,
    client_id: kind === "user" ? "edgebank-app" : id,
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 900,
  });
  return { id, token };
}

/**
 * The security suite's target for a data service under test: keys and claims from the
 * stand-in issuer's bindings (TEST_SIGNING_JWK, TEST_RETIRED_JWK), a valid token for `scope`.
 */
export function serviceSecurityTarget(
  env: TestIssuerEnv & { TEST_RETIRED_JWK: string },
  scope: string,
  call: SecurityTarget["call"],
): SecurityTarget {
  return {
    async setup() {
      const { d: _private, ...currentPublicJwk } = JSON.parse(env.TEST_SIGNING_JWK) as JWK;
      const now = () => Math.floor(Date.now() / 1000);
      return {
        current: await importTestSigningKey(env.TEST_SIGNING_JWK),
        currentPublicJwk,
        retired: await importTestSigningKey(env.TEST_RETIRED_JWK),
        validClaims: () => ({
          iss: env.TOKEN_ISSUER,
          aud: env.TOKEN_AUDIENCE,
          sub: "usr_security",
          scope,
          client_id: "edgebank-app",
          jti: crypto.randomUUID(),
          iat: now(),
          exp: now() + 900,
        }),
        requiredScope: scope,
        issuer: env.TOKEN_ISSUER,
        audience: env.TOKEN_AUDIENCE,
      };
    },
    call,
  };
}

/** One operation of a service's OpenAPI document, as the route sweep calls it. */
interface DocumentedOperation {
  method: string;
  path: string;
  protected: boolean;
}

/** Every operation a service's `/openapi.json` lists, and whether it declares bearer security. */
async function documentedOperations(fetch: (request: Request) => Promise<Response>, origin: string) {
  const response = await fetch(new Request(`${origin}/openapi.json`));
  expect(response.status).toBe(200);
  const document = (await response.json()) as {
    paths: Record<string, Record<string, { security?: Record<string, unknown>[] }>>;
  };
  const operations: DocumentedOperation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      operations.push({ method: method.toUpperCase(), path, protected: (operation.security ?? []).length > 0 });
    }
  }
  return operations;
}

/**
 * Every route of a service, as its OpenAPI document lists them: a route that declares bearer
 * security refuses a request without a token, a malformed one and one signed by a key the issuer
 * never published (401, Bearer challenge, problem document) before it reads its parameters or
 * body; a route that declares none answers without asking for a token (the document does not lie
 * about which routes are public). A route added later is covered without touching this suite.
 */
export function describeRouteProtection(
  name: string,
  target: {
    fetch: (request: Request) => Promise<Response>;
    origin: string;
    /** Claims a stranger's token carries (the service's issuer and audience, any scope). */
    claims: () => JWTPayload;
  },
): void {
  describe(`route protection: ${name}`, () => {
    let operations: DocumentedOperation[] = [];
    beforeAll(async () => {
      operations = await documentedOperations(target.fetch, target.origin);
    }, 30_000);

    const call = (operation: DocumentedOperation, authorization: string | undefined) => {
      const headers = new Headers({ "idempotency-key": crypto.randomUUID() });
      if (authorization) headers.set("authorization", authorization);
      const hasBody = !["GET", "HEAD", "DELETE"].includes(operation.method);
      if (hasBody) headers.set("content-type", "application/json");
      const path = operation.path.replaceAll(/\{[^}]+\}/g, "unknown");
      return target.fetch(
        new Request(`${target.origin}${path}`, {
          method: operation.method,
          headers,
          ...(hasBody ? { body: "{}" } : {}),
        }),
      );
    };

    it("lists its routes, some of them protected", () => {
      expect(operations.filter((operation) => operation.protected).length).toBeGreaterThan(0);
    });

    const attacks: Array<[string, () => Promise<string | undefined>]> = [
      ["no token", async () => undefined],
      ["a malformed token", async () => "Bearer not.a.jwt"],
      [
        "a token from a key the issuer never published",
        async () => `Bearer ${await signToken(await strangerKey(), target.claims())}`,
      ],
    ];
    it.each(attacks)("every protected route refuses %s", async (_attack, authorization) => {
      const header = await authorization();
      const wrong: string[] = [];
      for (const operation of operations.filter((candidate) => candidate.protected)) {
        const response = await call(operation, header);
        const challenged = (response.headers.get("www-authenticate") ?? "").startsWith("Bearer");
        const problem = response.headers.get("content-type") === "application/problem+json";
        if (response.status !== 401 || !challenged || !problem) {
          wrong.push(`${operation.method} ${operation.path} → ${response.status}`);
        }
        await response.body?.cancel();
      }
      expect(wrong).toEqual([]);
    });

    it("every route documented as public answers without a token", async () => {
      const wrong: string[] = [];
      for (const operation of operations.filter((candidate) => !candidate.protected)) {
        const response = await call(operation, undefined);
        if (response.status === 401 || response.status === 403) {
          wrong.push(`${operation.method} ${operation.path} → ${response.status}`);
        }
        await response.body?.cancel();
      }
      expect(wrong).toEqual([]);
    });
  });
}
