/**
 * npm run release -- --service transfers --version <version id> [--plan <file>] [--thresholds <file>]
 *
 * Starts a rollout of a Worker version through the operator API (EDGEBANK_API_URL, the gateway;
 * EDGEBANK_OPERATOR_TOKEN, an operator's access token) and follows it, a line per step, decision
 * and command, until it ends: exit 0 when promoted, 1 when rolled back or aborted, 2 when it
 * paused for an operator (it goes on without this command; run it again to follow it).
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

export interface RolloutView {
  id: string;
  worker: string;
  canaryVersionId: string;
  status: string;
  canaryPercentage: number;
  reason: string | null;
  history: { at: string; kind: string; by: string; detail: string }[];
}

const ended = ["PROMOTED", "ROLLED_BACK", "ABORTED"];

/**
 * Follows a rollout until it ends or pauses, printing each history entry once. `read` answers
 * the rollout as it stands; `sleep` waits between reads. Answers the last view.
 */
export async function follow(
  read: () => Promise<RolloutView>,
  print: (line: string) => void,
  sleep: () => Promise<void>,
): Promise<RolloutView> {
  let shown = 0;
  for (;;) {
    const view = await read();
    for (const entry of view.history.slice(shown)) {
      print(
        `${entry.at.slice(11, 19)}  ${String(view.canaryPercentage).padStart(3)} %  ${entry.kind.padEnd(8)} ${entry.detail}`,
      );
    }
    shown = view.history.length;
    if (ended.includes(view.status) || view.status === "PAUSED") return view;
    await sleep();
  }
}

export const exitCodeOf = (status: string) => (status === "PROMOTED" ? 0 : status === "PAUSED" ? 2 : 1);

/**
 * Asks the rollout controller (the operator API at `api`) to roll `versionId` of a service out.
 * Answers the rollout, and whether it was already under way (the start is idempotent).
 */
export async function startRollout(
  api: string,
  token: string,
  start: { service: string; versionId: string; plan?: unknown; thresholds?: unknown },
): Promise<{ rollout: RolloutView; alreadyUnderWay: boolean }> {
  const response = await fetch(`${api}/v1/operations/rollouts`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(start),
  });
  if (!response.ok) {
    throw new Error(
      `the rollout of ${start.service} ${start.versionId} did not start (${response.status}): ${await response.text()}`,
    );
  }
  return { rollout: (await response.json()) as RolloutView, alreadyUnderWay: response.status === 200 };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      service: { type: "string" },
      version: { type: "string" },
      plan: { type: "string" },
      thresholds: { type: "string" },
      "poll-seconds": { type: "string", default: "5" },
    },
  });
  const api = process.env.EDGEBANK_API_URL;
  const token = process.env.EDGEBANK_OPERATOR_TOKEN;
  const missing = [
    ...(values.service ? [] : ["--service"]),
    ...(values.version ? [] : ["--version"]),
    ...(api ? [] : ["EDGEBANK_API_URL"]),
    ...(token ? [] : ["EDGEBANK_OPERATOR_TOKEN"]),
  ];
  if (missing.length > 0) {
    console.error(`release: missing ${missing.join(", ")}`);
    return 64;
  }
  const json = async (file: string | undefined) => (file ? JSON.parse(await readFile(file, "utf8")) : undefined);
  const headers = { authorization: `Bearer ${token}` };
  let started: Awaited<ReturnType<typeof startRollout>>;
  try {
    started = await startRollout(api ?? "", token ?? "", {
      service: values.service ?? "",
      versionId: values.version ?? "",
      plan: await json(values.plan),
      thresholds: await json(values.thresholds),
    });
  } catch (error) {
    console.error(`release: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
  const { id, worker } = started.rollout;
  console.log(
    `release: rollout ${id} of ${worker} ${values.version} (${started.alreadyUnderWay ? "already under way" : "started"})`,
  );
  const pollMs = Number(values["poll-seconds"]) * 1000;
  const last = await follow(
    async () => {
      const response = await fetch(`${api}/v1/operations/rollouts/${id}`, { headers });
      if (!response.ok) throw new Error(`reading rollout ${id}: ${response.status} ${await response.text()}`);
      return (await response.json()) as RolloutView;
    },
    (line) => console.log(line),
    () => new Promise((resolve) => setTimeout(resolve, pollMs)),
  );
  console.log(`release: ${last.status}${last.reason ? ` (${last.reason})` : ""}`);
  return exitCodeOf(last.status);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit(await main());
