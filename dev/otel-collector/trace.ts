/**
 * npm run trace -- <traceId>
 *
 * Prints one trace from the development collector as an indented tree with durations. The
 * collector is the one `npm run dev` started (its URL is kept in .dev/otel-collector-url), or
 * OTEL_COLLECTOR_URL.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repositoryRoot } from "../stack/stack.ts";
import { renderTree } from "./tree.ts";

const traceId = process.argv[2] ?? "";
if (!/^[0-9a-f]{32}$/.test(traceId)) {
  console.error("usage: npm run trace -- <traceId>   (32 hex digits: the x-trace-id of a gateway answer)");
  process.exit(2);
}
const stateDir = process.env.EDGEBANK_STATE_DIR ?? join(repositoryRoot, ".dev");
const urlFile = join(stateDir, "otel-collector-url");
const collector =
  process.env.OTEL_COLLECTOR_URL ?? (existsSync(urlFile) ? readFileSync(urlFile, "utf8").trim() : undefined);
if (!collector) {
  console.error("no collector: start the stack with npm run dev, or set OTEL_COLLECTOR_URL");
  process.exit(2);
}
const response = await fetch(`${collector}/traces/${traceId}`).catch((error: unknown) => {
  console.error(`the collector at ${collector} does not answer: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
if (response.status === 404) {
  console.error(`no trace ${traceId} in the collector (sampled out, or not exported yet)`);
  process.exit(1);
}
console.log(renderTree((await response.json()) as Parameters<typeof renderTree>[0]));
