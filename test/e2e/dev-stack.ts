import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../dev/stack/ports.ts";
import { validatingFetch } from "./api-contract.ts";

/** The local stack started exactly as `npm run dev` starts it, with its own port, state and databases. */
export interface DevStack {
  url: string;
  /** The Kafka REST endpoint the stack publishes to (its development broker). */
  kafkaRestUrl: string;
  /** The development OTLP collector every Worker sends its traces to. */
  collectorUrl: string;
  /** The development Sentry sink the Workers report errors to (`GET <url>/events`). */
  sentryUrl: string;
  /** The development Cloudflare API, whose Analytics Engine SQL API serves the metrics. */
  cloudflareApi: { baseUrl: string; accountId: string; token: string };
  child: ChildProcess;
  /** wrangler's process group. */
  wranglerGroup: number;
  /** The development staff's credentials, as printed at start. */
  operator: { email: string; password: string };
  auditor: { email: string; password: string };
  output(): string;
  /** Waits for a line of its output; the match. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Where its state is (`again` for another start). */
  stateDir: string;
  /** Stops it like Ctrl-C (killing what is left after 15 s), keeping its state. */
  stop(): Promise<void>;
  /** Stops it and removes its state. */
  kill(): Promise<void>;
}

export async function startDevStack(
  label: string,
  env: Record<string, string> = {},
  args: string[] = [],
  /** The state folder of an earlier start of the same label, to start it again as it was left. */
  again?: string,
): Promise<DevStack> {
  // The gateway's port is picked free, then bound by wrangler a few seconds later; a stack
  // starting beside this one may take it in between. That start is abandoned and made again
  // on another port (a restart keeps its port, so it is not retried).
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(label, env, args, again);
    } catch (error) {
      if (again || attempt >= 3 || !/Address already in use/.test(String(error))) throw error;
    }
  }
}

async function startOnce(
  label: string,
  env: Record<string, string>,
  args: string[],
  again: string | undefined,
): Promise<DevStack> {
  const stateDir = again ?? mkdtempSync(join(tmpdir(), `edgebank-${label}-`));
  // A restart keeps its public URL, as an environment does: tokens issued before stay valid.
  const portFile = join(stateDir, "gateway-port");
  const port = again ? Number(readFileSync(portFile, "utf8")) : await freePort();
  writeFileSync(portFile, String(port));
  const child = spawn(process.execPath, ["dev/stack/main.ts", ...args], {
    env: {
      ...process.env,
      PORT: String(port),
      EDGEBANK_STATE_DIR: stateDir,
      EDGEBANK_DB_PREFIX: `edgebank_${label.replaceAll("-", "_")}`,
      EDGEBANK_FRESH_DATABASES: again ? "false" : "true",
      EDGEBANK_REDIS_PREFIX: `${label}-${Date.now()}`,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const waitForLine = (pattern: RegExp, timeoutMs: number) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`)), timeoutMs);
      const check = () => {
        const match = output.match(pattern);
        if (match) {
          clearTimeout(timer);
          resolve(match);
        }
      };
      child.stdout?.on("data", check);
      child.once("exit", () => {
        clearTimeout(timer);
        reject(new Error(`npm run dev exited early:\n${output}`));
      });
      check();
    });
  const staff = async (role: string) => {
    const [, email = "", password = ""] = await waitForLine(new RegExp(`${role}: (\\S+) / (\\S+)`), 90_000);
    return { email, password };
  };
  const operator = await staff("operator");
  const auditor = await staff("auditor");
  const kafkaRestUrl =
    (await waitForLine(/Kafka REST broker \(development, v3 and v2\) on (http:\/\/127\.0\.0\.1:\d+)/, 90_000))[1] ?? "";
  const collectorUrl =
    (
      await waitForLine(/OpenTelemetry collector \(development, OTLP\/HTTP\) on (http:\/\/127\.0\.0\.1:\d+)/, 90_000)
    )[1] ?? "";
  const sentryUrl =
    (await waitForLine(/Sentry sink \(development, envelope API\) on (http:\/\/127\.0\.0\.1:\d+)/, 90_000))[1] ?? "";
  const [, apiBase = "", accountId = ""] = await waitForLine(
    /Cloudflare API \(development: [^)]*\) on (http:\/\/127\.0\.0\.1:\d+\/client\/v4), account ([0-9a-f]{32})/,
    90_000,
  );
  const cloudflareApi = {
    baseUrl: apiBase,
    accountId,
    token: readFileSync(join(stateDir, "cloudflare-api-token"), "utf8").trim(),
  };
  const wranglerGroup = Number((await waitForLine(/process group (\d+)/, 90_000))[1]);
  const url = (await waitForLine(/gateway: (http:\/\/127\.0\.0\.1:\d+)/, 90_000))[1] ?? "";
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGINT");
      const timeout = new Promise((resolve) => setTimeout(resolve, 15_000).unref());
      await Promise.race([exited, timeout]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    try {
      process.kill(-wranglerGroup, "SIGKILL");
    } catch {
      // already gone
    }
  };
  return {
    url,
    kafkaRestUrl,
    collectorUrl,
    sentryUrl,
    cloudflareApi,
    child,
    wranglerGroup,
    operator,
    auditor,
    output: () => output,
    waitForLine,
    stateDir,
    stop,
    async kill() {
      await stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * `fetch` as a client at address `ip` (the credentials endpoints are limited per client IP, so
 * each suite calls them from an address of its own), every answer checked against the document.
 */
export function fetchFrom(ip: string): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return (input, init) => {
    const request = new Request(input, init);
    request.headers.set("cf-connecting-ip", ip);
    return validatingFetch(request);
  };
}

/** Registers a user through the gateway from `ip`; the answer. */
export function register(
  url: string,
  email: string,
  password: string,
  ip: string,
  accountType: "customer" | "merchant" = "customer",
): Promise<Response> {
  return fetchFrom(ip)(`${url}/v1/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password, accountType }),
  });
}

/** Registers (if new) and logs in a user through the gateway; its access token. */
export async function session(
  url: string,
  email: string,
  password: string,
  ip = "192.0.2.10",
  accountType: "customer" | "merchant" = "customer",
): Promise<string> {
  await register(url, email, password, ip, accountType);
  const login = await fetchFrom(ip)(`${url}/v1/auth/token`, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "password", username: email, password, client_id: "edgebank-app" }),
  });
  if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  return ((await login.json()) as { access_token: string }).access_token;
}

export type ApiInit = RequestInit & { key?: string };

/**
 * A request to the gateway at `baseUrl` as the holder of `token`: a JSON body gets its content
 * type, `key` becomes the Idempotency-Key. The answer is checked against the API document.
 */
export function gatewayRequest(baseUrl: string, path: string, token: string, init: ApiInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  if (init.body) headers.set("content-type", "application/json");
  if (init.key) headers.set("idempotency-key", init.key);
  return validatingFetch(`${baseUrl}${path}`, { ...init, headers });
}

/** The operation ids on an account's statement that belong to one flow (operation ids `<id>:<step>`), sorted. */
export async function statementLinesOf(
  baseUrl: string,
  token: string,
  accountId: string,
  flowId: string,
): Promise<string[]> {
  const response = await gatewayRequest(baseUrl, `/v1/accounts/${accountId}/operations?limit=100`, token);
  const page = (await response.json()) as { items: Array<{ operationId: string }> };
  return page.items
    .map((line) => line.operationId)
    .filter((operationId) => operationId.startsWith(`${flowId}:`))
    .sort();
}
