import type { ChildProcess } from "node:child_process";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * The port on which workerd itself serves a worker started by `wrangler dev`, bypassing
 * wrangler's front proxy (which halves throughput). Looks at the sockets that the workerd
 * processes of wrangler's process group listen on, and asks each for /health until one answers
 * as `service`.
 */
export async function findWorkerdPort(wrangler: ChildProcess, service: string, proxyPort: number): Promise<number> {
  for (const port of workerdPorts(wrangler, proxyPort)) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok && ((await response.json()) as { service?: string }).service === service) return port;
    } catch {
      // not an HTTP socket of this worker
    }
  }
  throw new Error(`no workerd socket of wrangler (pid ${wrangler.pid}) answers as ${service}`);
}

/**
 * The DevTools WebSocket of one worker's isolate, from workerd's own inspector (wrangler's
 * inspector proxy attaches to whichever worker of a multi-worker session registered first).
 */
export async function findWorkerdInspector(wrangler: ChildProcess, worker: string): Promise<string> {
  for (const port of workerdPorts(wrangler)) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(2_000) });
      if (!response.ok) continue;
      const targets = (await response.json()) as Array<{ id?: string; webSocketDebuggerUrl?: string }>;
      const target = Array.isArray(targets) ? targets.find((entry) => entry.id === `core:user:${worker}`) : undefined;
      if (target?.webSocketDebuggerUrl) return target.webSocketDebuggerUrl;
    } catch {
      // not workerd's inspector
    }
  }
  throw new Error(`no inspector of wrangler (pid ${wrangler.pid}) lists the worker ${worker}`);
}

/** The loopback ports the workerd processes of wrangler's process group listen on. */
function workerdPorts(wrangler: ChildProcess, except?: number): number[] {
  const group = wrangler.pid;
  if (group === undefined) throw new Error("wrangler is not running");
  const listing = spawnSync("ss", ["-Hltnp"], { encoding: "utf8" }).stdout;
  const ports: number[] = [];
  for (const line of listing.split("\n")) {
    const match = /127\.0\.0\.1:(\d+)\s.*"workerd",pid=(\d+)/.exec(line);
    if (!match) continue;
    const [, port, pid] = match;
    if (Number(port) === except || processGroup(Number(pid)) !== group) continue;
    ports.push(Number(port));
  }
  return ports;
}

function processGroup(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: pid (comm) state ppid pgrp …; comm may hold spaces, so split after ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  } catch {
    return undefined;
  }
}
