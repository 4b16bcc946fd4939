/**
 * npm run typecheck: every TypeScript project of the repository. Each worker is its own project
 * because its generated worker-configuration.d.ts declares global types (Env, main module).
 */
import { spawnSync } from "node:child_process";
import { allServices } from "../services.ts";

const projects = [
  "tsconfig.json",
  "dev/tsconfig.json",
  "bench/fixtures/do-hop/tsconfig.json",
  "dev/traffic-router/tsconfig.json",
  "workers/web/app/tsconfig.json",
  ...allServices.map((s) => `workers/${s.name}/tsconfig.json`),
];
let failed = false;
for (const project of projects) {
  const result = spawnSync("npx", ["tsc", "--noEmit", "-p", project], { stdio: "inherit" });
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
