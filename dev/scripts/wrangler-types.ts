/**
 * npm run types          regenerates each worker's worker-configuration.d.ts from its wrangler config
 * npm run types:check    fails when a committed file differs from what the config generates
 *
 * Runtime types come from @cloudflare/workers-types; these files hold each worker's Env.
 */
import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { allServices } from "../services.ts";

const check = process.argv.includes("--check");
let failed = false;
for (const service of allServices) {
  const dir = service.name === "gateway" ? "workers/gateway" : dirname(service.config);
  const args = ["wrangler", "types", "-c", service.config, "--include-runtime=false", "--strict-vars=false"];
  if (check) args.push("--check");
  args.push(`${dir}/worker-configuration.d.ts`);
  const result = spawnSync("npx", args, {
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  if (result.status !== 0) {
    failed = true;
    console.error(
      `${service.name}: ${check ? "binding types are out of date (run npm run types)" : "wrangler types failed"}`,
    );
    console.error(result.stdout, result.stderr);
  } else {
    console.log(`${service.name}: ${check ? "up to date" : "generated"}`);
  }
}
process.exit(failed ? 1 : 0);
