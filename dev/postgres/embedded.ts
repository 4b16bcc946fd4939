import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface EmbeddedPostgres {
  /** postgres:// URL of the embedded server (database `postgres`). */
  url: string;
  stop(): Promise<void>;
}

/** Message types after which the backend answers: Sync, Query, Flush, Terminate, password, copy. */
const FLUSH_TYPES = new Set(["S", "Q", "H", "X", "p", "d", "c", "f"].map((t) => t.charCodeAt(0)));
const PARSE = "P".charCodeAt(0);
const EXECUTE = "E".charCodeAt(0);

interface Unit {
  handlerId: number;
  bytes: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: unknown) => void;
}

/** The types of the protocol messages in `bytes` (a startup message has none). */
function messageTypes(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 8 && view.getInt32(4) === 196608) return [];
  const types: number[] = [];
  for (let at = 0; at + 5 <= bytes.length; at += 1 + view.getInt32(at + 1)) types.push(bytes[at] ?? 0);
  return types;
}

/**
 * The one PGlite session, shared by every connection, the way PostgreSQL would keep them apart:
 * pglite-socket's own queue interleaves the protocol messages of concurrent connections outside
 * transactions (one connection's Parse between another's Parse and Bind: "bind message supplies
 * 2 parameters, but prepared statement "" requires 0"). Here each connection's messages are held
 * until the one the backend answers (Sync, a simple Query…) and run as one unit; and a
 * connection keeps the session while it is in a transaction or between a Parse and its Execute
 * (postgres.js describes a statement in one round trip and binds it in the next).
 */
class WholeQueryQueue {
  readonly #db: PGlite;
  readonly #held = new Map<number, Uint8Array[]>();
  #queue: Unit[] = [];
  #owner: number | null = null;
  #running = false;

  constructor(db: PGlite) {
    this.#db = db;
  }

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    const held = this.#held.get(handlerId) ?? [];
    held.push(message);
    const types = messageTypes(message);
    if (types.length > 0 && !types.some((type) => FLUSH_TYPES.has(type))) {
      this.#held.set(handlerId, held);
      return Promise.resolve(0);
    }
    this.#held.delete(handlerId);
    return new Promise((resolve, reject) => {
      this.#queue.push({ handlerId, bytes: new Uint8Array(Buffer.concat(held)), onData, resolve, reject });
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (;;) {
        const index = this.#owner === null ? 0 : this.#queue.findIndex((unit) => unit.handlerId === this.#owner);
        const unit = index >= 0 ? this.#queue.splice(index, 1)[0] : undefined;
        if (!unit) return;
        let written = 0;
        try {
          await this.#db.runExclusive(() =>
            this.#db.execProtocolRawStream(unit.bytes, {
              onRawData: (data) => {
                written += data.length;
                unit.onData(data);
              },
            }),
          );
        } catch (error) {
          unit.reject(error);
          continue;
        }
        const types = messageTypes(unit.bytes);
        const midStatement = types.includes(PARSE) && !types.includes(EXECUTE);
        this.#owner = this.#db.isInTransaction() || midStatement ? unit.handlerId : null;
        unit.resolve(written);
      }
    } finally {
      this.#running = false;
    }
  }

  clearQueueForHandler(handlerId: number): void {
    this.#held.delete(handlerId);
    this.#queue = this.#queue.filter((unit) => {
      if (unit.handlerId !== handlerId) return true;
      unit.reject(new Error("Handler disconnected"));
      return false;
    });
  }

  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.#owner !== handlerId) return;
    if (this.#db.isInTransaction()) await this.#db.exec("ROLLBACK");
    this.#owner = null;
    void this.#run();
  }

  getQueueLength(): number {
    return this.#queue.length;
  }
}

/**
 * Starts PGlite (PostgreSQL compiled to WebAssembly) behind its wire-protocol socket server.
 * `dataDir` keeps the data between runs; without it the database lives in memory.
 *
 * PGlite is one database with one session shared by every connection: the socket server runs
 * one transaction at a time, session state (prepared statements, SET) is shared, so clients use
 * `prepare: false`, and each service gets its own schema instead of its own database.
 */
export async function startEmbeddedPostgres(
  options: { dataDir?: string; port?: number } = {},
): Promise<EmbeddedPostgres> {
  const db = await PGlite.create(options.dataDir ? { dataDir: options.dataDir } : {});
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: options.port ?? 0, maxConnections: 200 });
  // Connection handlers take the server's queue when they attach: replace it before any does.
  (server as unknown as { queryQueue: WholeQueryQueue }).queryQueue = new WholeQueryQueue(db);
  let port = 0;
  server.addEventListener("listening", (event) => {
    port = (event as CustomEvent<{ port: number }>).detail.port;
  });
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
