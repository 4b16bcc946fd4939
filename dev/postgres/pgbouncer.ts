import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../stack/ports.ts";

/**
 * PgBouncer in transaction mode in front of a local PostgreSQL server: what Hyperdrive is in
 * production (many short-lived client connections, few server connections). Local
 * `wrangler dev` connects Hyperdrive bindings straight to their origin, so thousands of
 * AccountDOs each keeping a connection would exhaust `max_connections`; a benchmark of many
 * active accounts points the binding here instead. PgBouncer 1.18 (Debian 12) has no
 * protocol-level prepared statements, so clients must use unnamed statements (DB_PREPARE=false).
 */
export interface PgBouncer {
  /** `upstream` with host and port replaced by the pooler's. */
  url(upstream: string): string;
  /** Stops it (dropping every client and server connection) and starts it again on its port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether the pgbouncer binary is on PATH. */
export function pgBouncerInstalled(): boolean {
  return spawnSync("pgbouncer", ["--version"]).status === 0;
}

/**
 * `poolSize` server connections per database, and at most `maxServerConnections` in all (every
 * service connects as the same user), so the pooler never takes the server's last connections.
 */
export async function startPgBouncer(options: {
  upstream: string;
  poolSize: number;
  maxServerConnections?: number;
}): Promise<PgBouncer> {
  if (!pgBouncerInstalled()) throw new Error("pgbouncer is not installed (Debian: apt-get install pgbouncer)");
  const upstream = new URL(options.upstream);
  const user = decodeURIComponent(upstream.username || "postgres");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "edgebank-pgbouncer-"));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, "users.txt"), `"${user}" "${decodeURIComponent(upstream.password)}"\n`, { mode: 0o644 });
  writeFileSync(
    join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `* = host=${upstream.hostname} port=${upstream.port || "5432"} user=${user}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${join(dir, "users.txt")}`,
      "pool_mode = transaction",
      "max_client_conn = 5000",
      `default_pool_size = ${options.poolSize}`,
      `max_user_connections = ${options.maxServerConnections ?? options.poolSize * 2}`,
      "log_connections = 0",
      "log_disconnections = 0",
      "ignore_startup_parameters = extra_float_digits,options",
      "",
    ].join("\n"),
    { mode: 0o644 },
  );
  // PgBouncer refuses to run as root; as root, it drops to the postgres user. A watchdog shell
  // ends it when this process ends, however it ends (a SIGKILL runs no cleanup).
  const asRoot = process.getuid?.() === 0 ? "-u postgres " : "";
  const launch = async () => {
    const child: ChildProcess = spawn(
      "sh",
      [
        "-c",
        `pgbouncer ${asRoot}"$1" & bouncer=$!; trap 'kill $bouncer 2>/dev/null; exit 0' INT TERM; ` +
          `while kill -0 ${process.pid} 2>/dev/null && kill -0 $bouncer 2>/dev/null; do sleep 1; done; ` +
          "kill $bouncer 2>/dev/null",
        "pgbouncer-watchdog",
        join(dir, "pgbouncer.ini"),
      ],
      { stdio: "ignore" },
    );
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    await waitForPort(port, exited);
    return {
      async stop() {
        child.kill("SIGINT");
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        // The port is free once the bouncer itself is gone, not only its watchdog.
        for (let attempt = 0; attempt < 50 && (await portOpen(port)); attempt++)
          await new Promise((resolve) => setTimeout(resolve, 100));
      },
    };
  };
  let running = await launch();
  return {
    url(target: string) {
      const pooled = new URL(target);
      pooled.hostname = "127.0.0.1";
      pooled.port = String(port);
      return pooled.toString();
    },
    async restart() {
      await running.stop();
      running = await launch();
    },
    async stop() {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => {
      socket.end();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function waitForPort(port: number, exited: Promise<void>): Promise<void> {
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  for (let attempt = 0; attempt < 100 && !ended; attempt++) {
    if (await portOpen(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(ended ? "pgbouncer exited at start" : `pgbouncer did not listen on ${port}`);
}
