import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig, defineProject } from "vitest/config";
import { dataServices } from "./dev/services.ts";
import { control, fakeService } from "./workers/gateway/test/fake-services.ts";

/** Pure-logic packages: tested in Node, beside their code. */
const unitPackages = ["errors", "money", "ids", "resilience", "config", "http"];

/** Bindings every worker gets under test, on top of its wrangler config. */
function testBindings(databases: { prepare: boolean }) {
  return { ENVIRONMENT: "test", LOG_LEVEL: "warn", DB_PREPARE: String(databases.prepare) };
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
      // Both database drivers, inside workerd, against the real test database.
      defineProject({
        plugins: [
          cloudflareTest(({ inject }) => {
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
        ],
        test: { name: "shared-db", include: ["shared/db/test/**/*.test.ts"] },
      }),
      // The gateway inside workerd, with the services behind it replaced by test-only bindings.
      defineProject({
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: { ENVIRONMENT: "test", LOG_LEVEL: "warn", DOWNSTREAM_TIMEOUT_MS: "300" },
              serviceBindings: {
                CONTROL: control,
                ...Object.fromEntries(dataServices.map((s) => [s.name.toUpperCase(), fakeService(s.name)])),
              },
            },
          }),
        ],
        test: { name: "worker-gateway", include: ["workers/gateway/test/**/*.test.ts"] },
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
        defineProject({
          plugins: [
            cloudflareTest(({ inject }) => {
              const databases = inject("databases");
              return {
                wrangler: { configPath: `./${service.config}` },
                miniflare: {
                  bindings: testBindings(databases),
                  hyperdrives: { [service.dbBinding]: databases.urls[service.name] ?? "" },
                },
              };
            }),
          ],
          test: { name: `worker-${service.name}`, include: [`workers/${service.name}/test/**/*.test.ts`] },
        }),
      ),
    ],
  },
});
