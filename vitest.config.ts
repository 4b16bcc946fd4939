import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { exportJWK, generateKeyPair } from "jose";
import { kCurrentWorker } from "miniflare";
import { defineConfig, defineProject } from "vitest/config";
import { dataServices } from "./dev/services.ts";
import { createFakeServices } from "./workers/gateway/test/fake-services.ts";

/** Pure-logic packages: tested in Node, beside their code. */
const unitPackages = [
  "errors",
  "money",
  "ids",
  "resilience",
  "config",
  "http",
  "auth",
  "kafka",
  "events",
  "telemetry",
  "contracts",
  "service",
  "deployments",
];

/**
 * The issuer as services see it in their tests: a stand-in AUTH binding publishing one ES256
 * key, whose private half reaches the tests as a binding so they can mint tokens; and a second
 * key the issuer does not publish (retired, from the service's point of view).
 */
const testIssuer = await (async () => {
  const key = async (kid: string) => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    return {
      kid,
      privateJwk: { ...(await exportJWK(privateKey)), kid },
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" },
    };
  };
  const [current, retired] = await Promise.all([key("test-current"), key("test-retired")]);
  return {
    bindings: {
      TEST_SIGNING_JWK: JSON.stringify(current.privateJwk),
      TEST_RETIRED_JWK: JSON.stringify(retired.privateJwk),
      JWKS_TTL_SECONDS: "1",
    },
    auth: async (request: Request) => {
      const { pathname } = new URL(request.url);
      if (pathname === "/.well-known/jwks.json") return Response.json({ keys: [current.publicJwk] });
      return new Response("not found", { status: 404 });
    },
  };
})();

/**
 * What a rollout's probes reach in delivery's tests: the gateway as the probe user sees it, which
 * answers only requests that name the Worker's new version in a version override.
 */
const probeGateway = async (request: Request) => {
  const override = request.headers.get("cloudflare-workers-version-overrides") ?? "";
  if (!/^edgebank-[a-z]+-t[0-9a-z]+="[0-9a-f-]{36}"$/.test(override)) {
    return Response.json({ title: "no version override" }, { status: 400 });
  }
  const { pathname } = new URL(request.url);
  if (pathname === "/v1/auth/token") return Response.json({ access_token: "probe-token" });
  if (pathname === "/v1/accounts") {
    return Response.json({
      items: [
        { id: "acc_probe_a", currency: "EUR" },
        { id: "acc_probe_b", currency: "EUR" },
      ],
    });
  }
  if (pathname === "/v1/transfers") return Response.json({ status: "COMPLETED" }, { status: 201 });
  // The order probe: its order of the never-stocked probe product, cancelled for want of stock.
  if (pathname === "/v1/orders" && request.method === "POST") {
    const { lines } = (await request.json()) as { lines: { sku: string }[] };
    return Response.json({ id: `ord_probe_${lines[0]?.sku}`, status: "PENDING" }, { status: 202 });
  }
  if (pathname.startsWith("/v1/orders/ord_probe_")) {
    const sku = pathname.slice("/v1/orders/ord_probe_".length);
    return Response.json({ status: "CANCELLED", reason: `out_of_stock:${sku}` });
  }
  return Response.json({}, { status: 200 });
};

/** The merchant the payments stand-in says every caller owns (inventory's tests). */
const testMerchantId = "mer_01m8663z1ee8ga0a692p6nzqft";
const otherMerchantId = "mer_01m8663z1ee8ga0a692p6nzqfv";

/**
 * The internal contracts other services' tests call, as stand-in Workers with the real
 * entrypoints' names: payments says every user runs the one test merchant (inventory's tests);
 * the catalogue holds TEST-<price>-<merchant n> SKUs priced in EUR (orders' tests). Each checks
 * that its caller names itself, as the real entrypoints do.
 */
const contractStandIns = [
  {
    name: "ledger-contract",
    modules: true,
    compatibilityDate: "2026-11-01",
    script: `
      import { WorkerEntrypoint } from "cloudflare:workers";
      export class LedgerRpc extends WorkerEntrypoint {
        async audit({ requestedBy }) {
          if (this.ctx.props?.caller !== "delivery" || !requestedBy) {
            return { status: "forbidden", reason: "caller_not_allowed", detail: "stand-in" };
          }
          return { status: "audited", chainValid: true, entries: 0, reconciliationId: "rec_stand_in", accountsChecked: 0, mismatches: 0 };
        }
      }
      export default { fetch: () => new Response("not found", { status: 404 }) };`,
  },
  {
    name: "payments-contract",
    modules: true,
    compatibilityDate: "2026-11-01",
    script: `
      import { WorkerEntrypoint } from "cloudflare:workers";
      export class PaymentsRpc extends WorkerEntrypoint {
        async merchantsOf({ ownerId }) {
          if (this.ctx.props?.caller !== "inventory" || !ownerId) {
            return { status: "forbidden", reason: "caller_not_allowed", detail: "stand-in" };
          }
          return { status: "found", merchants: [{ id: ${JSON.stringify(testMerchantId)}, name: "Test Shop", currency: "EUR" }] };
        }
      }
      export default { fetch: () => new Response("not found", { status: 404 }) };`,
  },
  {
    name: "inventory-contract",
    modules: true,
    compatibilityDate: "2026-11-01",
    script: `
      import { WorkerEntrypoint } from "cloudflare:workers";
      export class InventoryRpc extends WorkerEntrypoint {
        async product({ sku }) {
          if (this.ctx.props?.caller !== "orders") {
            return { status: "forbidden", reason: "caller_not_allowed", detail: "stand-in" };
          }
          const match = /^TEST-(\\d+)-(\\d+)$/.exec(sku);
          if (!match) return { status: "not_found" };
          const merchantId = match[2] === "1" ? ${JSON.stringify(testMerchantId)} : ${JSON.stringify(otherMerchantId)};
          return { status: "found", product: { sku, name: sku, price: match[1], currency: "EUR", merchantId, available: 1000 } };
        }
      }
      export default { fetch: () => new Response("not found", { status: 404 }) };`,
  },
];

/** Services a service under test calls, when its tests do not run them: always unavailable. */
const unavailable = async () =>
  Response.json(
    { type: "about:blank", title: "Unavailable in this test", status: 503 },
    { status: 503, headers: { "content-type": "application/problem+json" } },
  );

/** A binding to an entrypoint of the worker under test, with these props (how its callers bind it). */
const ownEntrypoint = (entrypoint: string, props?: Record<string, unknown>) => ({
  name: kCurrentWorker,
  entrypoint,
  ...(props ? { props } : {}),
});

/** A fixed key-encryption key for the auth service's signing keys in tests (32 bytes, base64url). */
const testKek = "dGVzdC1vbmx5LWtleS1lbmNyeXB0aW9uLWtleS0zMmI";
/** A fixed key sealing webhook secrets in tests (32 bytes, base64url). */
const testWebhookKey = "dGVzdC1vbmx5LXdlYmhvb2stc2VjcmV0LWtleS0zMmI";
/** A fixed checkpoint signing key for the ledger in tests (32 bytes, base64url). */
const testCheckpointKey = "dGVzdC1vbmx5LWxlZGdlci1jaGVja3BvaW50LWtleTE";

/** The gateway's settings under test: its Redis, fast JWKS refresh, small auth limits. */
function gatewayTestBindings(upstash: { url: string; token: string }) {
  return {
    ENVIRONMENT: "test",
    LOG_LEVEL: "error",
    DOWNSTREAM_TIMEOUT_MS: "300",
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
    JWKS_TTL_SECONDS: "1",
    JWKS_REFETCH_COOLDOWN_SECONDS: "1",
    RATE_LIMIT_AUTH_PER_MINUTE: "5",
    CORS_ORIGINS: "https://app.edgebank.test",
    HEALTH_PROBE_TOKEN: "test-only-health-probe-credential-0123456789",
  };
}

/** The services behind the gateway in its tests: stand-ins controlled through CONTROL. */
// The services behind the gateway and the web app's Worker, each a stand-in in its tests.
const fakeServiceNames = [...dataServices.map((s) => s.name), "web"];

/** A project whose tests run inside workerd, with a wrangler config and Miniflare overrides. */
function workerdProject(name: string, include: string, options: Parameters<typeof cloudflareTest>[0]) {
  // The first test of a file also pays for workerd's start and the first JWKS fetch: seconds on
  // a loaded two-core machine, so the default 5 s would make it flaky.
  return defineProject({ plugins: [cloudflareTest(options)], test: { name, include: [include], testTimeout: 20_000 } });
}

export default defineConfig({
  test: {
    globalSetup: ["dev/test/global-setup.ts"],
    projects: [
      ...unitPackages.map((name) =>
        defineProject({
          test: { name: `shared-${name}`, root: `shared/${name}`, include: ["test/**/*.test.ts"], environment: "node" },
        }),
      ),
      // The rules and the group commit of the AccountDO, against an in-memory store; the flow
      // machine and the flows it runs (transfers, payments, refunds), against in-memory storage
      // and services; the group commit of the ledger's chain writer; the rollout controller's
      // steps, analyses and operator commands.
      ...["account", "flow", "transfer", "payment", "ledger", "rollout"].map((name) =>
        defineProject({
          test: {
            name: `do-${name}`,
            root: `durable-objects/${name}`,
            include: ["test/**/*.test.ts"],
            environment: "node",
          },
        }),
      ),
      // The local stand-ins for hosted services, driven through the real client libraries.
      defineProject({
        test: { name: "dev-upstash", include: ["dev/upstash-redis/test/**/*.test.ts"], environment: "node" },
      }),
      defineProject({
        test: { name: "dev-kafka-rest", include: ["dev/kafka-rest/test/**/*.test.ts"], environment: "node" },
      }),
      // Delivery: what a deploy checks and applies, and the Cloudflare API it talks to.
      defineProject({
        test: { name: "deploy", include: ["deploy/test/**/*.test.ts"], environment: "node" },
      }),
      // Dashboards and alert rules generated from one definition, checked with promtool.
      defineProject({
        test: { name: "observability", include: ["observability/test/**/*.test.ts"], environment: "node" },
      }),
      defineProject({
        test: { name: "dev-sentry-sink", include: ["dev/sentry-sink/test/**/*.test.ts"], environment: "node" },
      }),
      defineProject({
        test: { name: "dev-cloudflare-api", include: ["dev/cloudflare-api/test/**/*.test.ts"], environment: "node" },
      }),
      defineProject({
        test: { name: "dev-otel-collector", include: ["dev/otel-collector/test/**/*.test.ts"], environment: "node" },
      }),
      defineProject({
        test: { name: "dev-postgres", include: ["dev/postgres/test/**/*.test.ts"], environment: "node" },
      }),
      defineProject({
        test: { name: "dev-stack", include: ["dev/stack/test/**/*.test.ts"], environment: "node" },
      }),
      defineProject({
        test: { name: "dev-traffic-router", include: ["dev/traffic-router/test/**/*.test.ts"], environment: "node" },
      }),
      defineProject({
        test: { name: "chaos", include: ["chaos/test/**/*.test.ts"], environment: "node" },
      }),
      // Both database drivers, inside workerd, against the real test database.
      workerdProject("shared-db", "shared/db/test/**/*.test.ts", ({ inject }) => {
        const databases = inject("databases");
        return {
          wrangler: { configPath: "./shared/db/test/wrangler.toml" },
          miniflare: {
            bindings: {
              DATABASE_URL: databases.serverUrl,
              NEON_WS_PROXY: inject("neonWsProxy"),
              DB_PREPARE: String(databases.prepare),
            },
            hyperdrives: { CONFORMANCE_DB: databases.serverUrl },
          },
        };
      }),
      // The gateway inside workerd, with the services behind it replaced by test-only bindings.
      workerdProject("worker-gateway", "workers/gateway/test/*.test.ts", ({ inject }) => ({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: gatewayTestBindings(inject("upstash")),
          serviceBindings: createFakeServices(fakeServiceNames),
        },
      })),
      // The same gateway with its Redis unreachable: rate limits fall back to local windows.
      workerdProject("worker-gateway-redis-down", "workers/gateway/test/redis-down/*.test.ts", {
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: gatewayTestBindings({ url: "http://127.0.0.1:9", token: "unreachable" }),
          serviceBindings: createFakeServices(fakeServiceNames),
        },
      }),
      // The whole stack as `npm run dev` starts it, checked from outside; runs after the rest.
      defineProject({
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.e2e.test.ts"],
          environment: "node",
          testTimeout: 30_000,
          sequence: { groupOrder: 1 },
        },
      }),
      // Each data service runs inside workerd against its real database.
      ...dataServices.map((service) =>
        workerdProject(`worker-${service.name}`, `workers/${service.name}/test/**/*.test.ts`, ({ inject }) => {
          const databases = inject("databases");
          return {
            wrangler: { configPath: `./${service.config}` },
            miniflare: {
              bindings: {
                ENVIRONMENT: "test",
                LOG_LEVEL: "warn",
                DB_PREPARE: String(databases.prepare),
                ...(service.name === "auth"
                  ? { SIGNING_KEY_KEK: testKek, JWKS_TTL_SECONDS: "1" }
                  : testIssuer.bindings),
                ...(service.name === "ledger" ? { LEDGER_CHECKPOINT_KEY: testCheckpointKey } : {}),
                ...(service.name === "inventory" ? { TEST_MERCHANT_ID: testMerchantId } : {}),
                ...(["transfers", "accounts", "payments", "orders", "inventory"].includes(service.name)
                  ? {
                      KAFKA_REST_URL: inject("kafkaRestUrl"),
                    }
                  : {}),
                ...(service.name === "delivery"
                  ? {
                      KAFKA_REST_URL: inject("kafkaRestUrl"),
                      CLOUDFLARE_API_BASE_URL: inject("cloudflareApi").baseUrl,
                      CLOUDFLARE_ACCOUNT_ID: inject("cloudflareApi").accountId,
                      CLOUDFLARE_API_TOKEN: inject("cloudflareApi").token,
                      // Worker names of this run only: the suite passes twice on one database.
                      WORKER_NAME_SUFFIX: `-t${Date.now().toString(36)}`,
                      PROBE_USERNAME: "probe@edgebank.test",
                      PROBE_PASSWORD: "a long probe passphrase",
                    }
                  : {}),
                ...(service.name === "notifications"
                  ? {
                      KAFKA_REST_URL: inject("kafkaRestUrl"),
                      WEBHOOK_SECRET_KEY: testWebhookKey,
                      WEBHOOK_ALLOW_INSECURE: "true",
                      // Short pauses and a low bar, so retries and disabling happen within a test.
                      WEBHOOK_RETRY_SECONDS: "1,1,1,1",
                      WEBHOOK_DISABLE_AFTER: "3",
                      CONSUMER_MAX_ATTEMPTS: "3",
                      CONSUMER_POLL_MS: "200",
                    }
                  : {}),
              },
              hyperdrives: { [service.dbBinding]: databases.urls[service.name] ?? "" },
              // Auxiliary workers: the contracts of services this one calls and its tests do not run.
              ...(["inventory", "orders", "delivery"].includes(service.name) ? { workers: contractStandIns } : {}),
              ...(service.name === "auth"
                ? {}
                : {
                    serviceBindings: {
                      AUTH: testIssuer.auth,
                      ...(service.name === "transfers" || service.name === "payments"
                        ? { ACCOUNTS: unavailable, LEDGER: unavailable }
                        : {}),
                      ...(service.name === "ledger" ? { ACCOUNTS: unavailable } : {}),
                      // The service's own entrypoint as its callers bind it, each named by its props.
                      ...(service.name === "accounts"
                        ? {
                            RPC_AS_TRANSFERS: ownEntrypoint("AccountsRpc", { caller: "transfers" }),
                            RPC_AS_PAYMENTS: ownEntrypoint("AccountsRpc", { caller: "payments" }),
                            RPC_AS_LEDGER: ownEntrypoint("AccountsRpc", { caller: "ledger" }),
                            RPC_WITHOUT_CALLER: ownEntrypoint("AccountsRpc"),
                          }
                        : {}),
                      ...(service.name === "ledger"
                        ? {
                            RPC_AS_TRANSFERS: ownEntrypoint("LedgerRpc", { caller: "transfers" }),
                            RPC_AS_LEDGER: ownEntrypoint("LedgerRpc", { caller: "ledger" }),
                            RPC_AS_DELIVERY: ownEntrypoint("LedgerRpc", { caller: "delivery" }),
                            RPC_WITHOUT_CALLER: ownEntrypoint("LedgerRpc"),
                          }
                        : {}),
                      ...(service.name === "payments"
                        ? {
                            RPC_AS_INVENTORY: ownEntrypoint("PaymentsRpc", { caller: "inventory" }),
                            RPC_AS_ORDERS: ownEntrypoint("PaymentsRpc", { caller: "orders" }),
                            RPC_WITHOUT_CALLER: ownEntrypoint("PaymentsRpc"),
                          }
                        : {}),
                      ...(service.name === "inventory"
                        ? {
                            RPC_AS_ORDERS: ownEntrypoint("InventoryRpc", { caller: "orders" }),
                            RPC_AS_PAYMENTS: ownEntrypoint("InventoryRpc", { caller: "payments" }),
                            RPC_WITHOUT_CALLER: ownEntrypoint("InventoryRpc"),
                            PAYMENTS: {
                              name: "payments-contract",
                              entrypoint: "PaymentsRpc",
                              props: { caller: "inventory" },
                            },
                          }
                        : {}),
                      ...(service.name === "delivery"
                        ? {
                            LEDGER: { name: "ledger-contract", entrypoint: "LedgerRpc", props: { caller: "delivery" } },
                            GATEWAY: probeGateway,
                          }
                        : {}),
                      ...(service.name === "orders"
                        ? {
                            INVENTORY: {
                              name: "inventory-contract",
                              entrypoint: "InventoryRpc",
                              props: { caller: "orders" },
                            },
                          }
                        : {}),
                    },
                  }),
            },
          };
        }),
      ),
    ],
  },
});
