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
  const group = wrangler.pid;
  if (group === undefined) throw new Error("wrangler is not running");
  const listing = spawnSync("ss", ["-Hltnp"], { encoding: "utf8" }).stdout;
  const ports: number[] = [];
  for (const line of listing.split("\n")) {
    const match = /127\.0\.0\.1:(\d+)\s.*"workerd",pid=(\d+)/.exec(line);
    if (!match) continue;
    const [, port, pid] = match;
    if (Number(port) === proxyPort || processGroup(Number(pid)) !== group) continue;
    ports.push(Number(port));
  }
  for (const port of ports) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok && ((await response.json()) as { service?: string }).service === service) return port;
    } catch {
      // not an HTTP socket of this worker
    }
  }
  throw new Error(`no workerd socket of wrangler (pid ${group}) answers as ${service}`);
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
