import { AppError } from "@edgebank/errors";
import { errors, type JWTPayload, jwtVerify } from "jose";
import type { JwksCache } from "./jwks-cache.ts";
import type { Principal } from "./principal.ts";
import type { Scope } from "./scopes.ts";

/** The media type of RFC 9068 JWT access tokens, required in the `typ` header. */
export const ACCESS_TOKEN_TYPE = "at+jwt";
/** Signature algorithms accepted: anything else (none, HS256 with a public key, RS256 …) is refused. */
export const ACCESS_TOKEN_ALGORITHMS = ["ES256"] as const;

export interface VerifyOptions {
  jwks: JwksCache;
  issuer: string;
  audience: string;
  /** Allowed clock skew for exp, nbf and iat. */
  clockToleranceSec?: number;
  /** Every one of these scopes must be granted. */
  requiredScopes?: readonly Scope[];
}

function challenge(error: "invalid_token" | "insufficient_scope", description: string, scope?: string): string {
  return `Bearer error="${error}", error_description="${description}"${scope ? `, scope="${scope}"` : ""}`;
}

/**
 * The 403 for a valid token that lacks what the route needs, with the RFC 6750 challenge
 * naming the scopes (all of them required, or any one of them: `detail` says which).
 */
export function insufficientScope(detail: string, scopes: readonly string[]): AppError {
  return new AppError("forbidden", detail, {
    headers: {
      "www-authenticate": challenge("insufficient_scope", "the token lacks a required scope", scopes.join(" ")),
    },
  });
}

function invalidToken(description: string, cause?: unknown): AppError {
  return new AppError("unauthorized", `The access token is invalid: ${description}.`, {
    headers: { "www-authenticate": challenge("invalid_token", description) },
    cause,
  });
}

/** Why jose refused a token, in words a client may see (never the token itself). */
function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "it has expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return "it is not valid yet";
    return `claim ${error.claim} is not acceptable`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return "its algorithm is not accepted";
  if (error instanceof errors.JWKSNoMatchingKey) return "it was signed by an unknown key";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "its signature does not verify";
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return "it is malformed";
  return "it could not be verified";
}

/**
 * Verifies an RFC 9068 access token: ES256 only, `typ` at+jwt, issuer, audience, exp and nbf
 * with a small skew, the claims edgebank relies on, and the required scopes.
 * Failures are AppErrors: 401 with a `WWW-Authenticate` challenge, or 403 insufficient_scope.
 * A token verified before against the same key set is recalled instead of verified again
 * (`JwksCache.verified`); its expiry and the scopes are checked every time.
 */
export async function verifyAccessToken(token: string, options: VerifyOptions): Promise<Principal> {
  let payload: JWTPayload;
  try {
    payload = await verifiedPayload(token, options);
  } catch (error) {
    if (!(error instanceof errors.JOSEError)) {
      // The keys could not be fetched: the caller is not at fault.
      throw new AppError("dependency_unavailable", "Access tokens cannot be verified right now.", { cause: error });
    }
    throw invalidToken(describe(error), error);
  }
  const { sub, jti, scope, client_id: clientId } = payload;
  if (typeof sub !== "string" || typeof jti !== "string" || typeof scope !== "string" || typeof clientId !== "string") {
    throw invalidToken("its claims are malformed");
  }
  const granted = new Set(scope.split(" ").filter(Boolean));
  const missing = (options.requiredScopes ?? []).filter((required) => !granted.has(required));
  if (missing.length > 0) throw insufficientScope(`This requires the scope ${missing.join(", ")}.`, missing);
  return {
    subject: sub,
    kind: sub.startsWith("cli_") ? "client" : "user",
    scopes: granted,
    clientId,
    tokenId: jti,
    token,
  };
}

async function verifiedPayload(token: string, { jwks, issuer, audience, ...options }: VerifyOptions) {
  await jwks.fresh();
  const known = jwks.verified.recall(token, issuer, audience);
  if (known) return known;
  const generation = jwks.verified.generation;
  const clockTolerance = options.clockToleranceSec ?? 30;
  const { payload } = await jwtVerify(token, jwks.resolve, {
    algorithms: [...ACCESS_TOKEN_ALGORITHMS],
    typ: ACCESS_TOKEN_TYPE,
    issuer,
    audience,
    clockTolerance,
    requiredClaims: ["sub", "exp", "iat", "jti", "scope", "client_id"],
  });
  // exp is required and numeric once jwtVerify has passed.
  const validUntilMs = ((payload.exp ?? 0) + clockTolerance) * 1000;
  jwks.verified.remember(token, { payload, issuer, audience, validUntilMs }, generation);
  return payload;
}

/** The token of an `Authorization: Bearer <token>` header; 401 for a missing or malformed header. */
export function bearerToken(header: string | undefined): string {
  if (header === undefined || header === "") {
    throw new AppError("unauthorized", "An access token is required.", {
      headers: { "www-authenticate": 'Bearer realm="edgebank"' },
    });
  }
  const match = /^Bearer ([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*\.[A-Za-z0-9\-_]*)$/.exec(header);
  if (!match?.[1]) throw invalidToken("the Authorization header is not a Bearer token");
  return match[1];
}
