import type { Database, DatabaseHandle } from "./client.ts";

/** How long a kept client stays open without use (the default). */
const KEEP_IDLE_MS = 30_000;

/**
 * A database client a Durable Object keeps across its invocations (a stateless Worker cannot:
 * its sockets belong to one request): opened on first use and closed after `idleMs` without
 * any, so a warm object pays for its connection once instead of once per operation, and a quiet
 * one holds none. The driver reconnects a connection that broke meanwhile.
 */
export class KeptDatabase {
  readonly #open: () => DatabaseHandle;
  readonly #idleMs: number;
  #handle: DatabaseHandle | undefined;
  #idle: ReturnType<typeof setTimeout> | undefined;

  constructor(open: () => DatabaseHandle, idleMs = KEEP_IDLE_MS) {
    this.#open = open;
    this.#idleMs = idleMs;
  }

  /** The client (opened now if it is not open), its idle period restarted. */
  db(): Database {
    this.#handle ??= this.#open();
    this.touch();
    return this.#handle.db;
  }

  /** Restarts the idle period: the client closes `idleMs` after the last use. */
  touch(): void {
    if (this.#idle !== undefined) clearTimeout(this.#idle);
    this.#idle = setTimeout(() => void this.close(), this.#idleMs);
  }

  /** Closes the client now; the next `db()` opens a new one. */
  async close(): Promise<void> {
    if (this.#idle !== undefined) clearTimeout(this.#idle);
    this.#idle = undefined;
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}
