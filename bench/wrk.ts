import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The shared end of every wrk script: one line `WRK_RESULT {json}` (see report.lua). */
export const reportScript = fileURLToPath(new URL("./report.lua", import.meta.url));

export interface WrkResult {
  requests: number;
  durationUs: number;
  /** Non-2xx/3xx answers. */
  status: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
  /** Latency percentiles, microseconds. */
  p50: number;
  p95: number;
  p99: number;
}

/**
 * Runs wrk against `url` for `seconds` with `concurrency` connections (at most two threads: the
 * machine has two cores and the server needs them too). `script` defaults to plain GETs; a
 * script gets `env` in its environment and must end with `dofile(os.getenv("BENCH_REPORT_LUA"))`.
 * Asynchronous on purpose: the local stack's stand-ins (the Upstash REST endpoint) live in this
 * process and must keep answering while wrk runs.
 */
export async function runWrk(
  url: string,
  options: { concurrency: number; seconds: number; script?: string; env?: Record<string, string> },
): Promise<WrkResult> {
  const child = spawn(
    "wrk",
    [
      "-t",
      String(Math.min(2, options.concurrency)),
      "-c",
      String(options.concurrency),
      "-d",
      `${options.seconds}s`,
      "--timeout",
      "10s",
      "-s",
      options.script ?? reportScript,
      url,
    ],
    { env: { ...process.env, BENCH_REPORT_LUA: reportScript, ...options.env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const status = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  const line = /WRK_RESULT (\{.*\})/.exec(stdout)?.[1];
  if (status !== 0 || !line) throw new Error(`wrk failed: ${stderr}${stdout}`);
  return JSON.parse(line) as WrkResult;
}

/** Failed requests of a run: error answers and socket errors. */
export const wrkErrors = (result: WrkResult) =>
  result.status + result.connect + result.read + result.write + result.timeout;
