/**
 * npm run environments [-- --check]
 * Writes the [env.staging] and [env.production] blocks of every Worker's wrangler.toml from
 * deploy/environments.json and the Worker's top-level config; with --check, fails (naming the
 * files) when a block is not what it would write.
 */
import { readFile, writeFile } from "node:fs/promises";
import { experimental_readRawConfig } from "wrangler";
import { allServices } from "../dev/services.ts";
import { readEnvironments } from "./config/environments.ts";
import { type BaseConfig, renderEnvironments, withEnvironments } from "./config/render.ts";

const root = new URL("../", import.meta.url);
const check = process.argv.includes("--check");
const environments = readEnvironments();
const stale: string[] = [];
for (const service of allServices) {
  const file = new URL(service.config, root);
  const { rawConfig } = experimental_readRawConfig({ config: file.pathname });
  const blocks = renderEnvironments(rawConfig as unknown as BaseConfig, environments, {
    service: service.name,
    gateway: service.name === "gateway",
  });
  const current = await readFile(file, "utf8");
  const next = withEnvironments(current, blocks);
  if (next === current) continue;
  stale.push(service.config);
  if (!check) await writeFile(file, next);
}
if (check && stale.length > 0) {
  console.error(`environment blocks are stale in ${stale.join(", ")}: run npm run environments`);
  process.exit(1);
}
console.log(check ? "environment blocks are up to date" : `environment blocks written (${stale.length} changed)`);
