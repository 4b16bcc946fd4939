import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import RedisMock from "ioredis-mock";

/** A Redis command: name and arguments, all as strings (RESP sends bulk strings). */
export type Command = [string, ...string[]];

/** What the REST endpoint needs of Redis. Errors reject with Redis's own message. */
export interface RedisBackend {
  readonly kind: "redis" | "embedded";
  execute(command: Command): Promise<unknown>;
  /** MULTI … EXEC: one result or error per command, in order. */
  transaction(commands: Command[]): Promise<Array<{ result?: unknown; error?: string }>>;
  close(): Promise<void>;
}

type Execute = (command: Command) => Promise<unknown>;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

/**
 * Replies as RESP has them: Lua true is 1 and false is nil (the embedded engine returns JS
 * booleans); HGETALL and friends are flat arrays (ioredis turns them into objects).
 */
function normalize(value: unknown): unknown {
  if (value === true) return 1;
  if (value === false) return null;
  if (Array.isArray(value)) return value.map(normalize);
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => [k, normalize(v)]);
  return value;
}

/** Script flags Redis 7 knows; Upstash adds others (allow-key-locking, used by @upstash/ratelimit 2). */
const redisScriptFlags = new Set(["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"]);

/**
 * Rewrites a script's `#!lua flags=…` line for the engine: Redis keeps the flags it knows;
 * the embedded Lua VM takes no shebang at all. The line is replaced, never removed, so error
 * line numbers stay right.
 */
export function translateScript(source: string, engine: RedisBackend["kind"]): string {
  if (!source.startsWith("#!")) return source;
  const newline = source.indexOf("\n");
  const first = newline === -1 ? source : source.slice(0, newline);
  const rest = newline === -1 ? "" : source.slice(newline);
  if (engine === "embedded") return rest;
  const flags = (/flags=([^\s]*)/.exec(first)?.[1] ?? "").split(",").filter((flag) => redisScriptFlags.has(flag));
  return `#!lua${flags.length > 0 ? ` flags=${flags.join(",")}` : ""}${rest}`;
}

/**
 * Script commands on top of an engine: scripts are known by the SHA-1 of the source the client
 * sent (what EVALSHA callers compute), and run translated for the engine.
 */
function withScripts(kind: RedisBackend["kind"], execute: Execute): Execute {
  const sources = new Map<string, string>();
  return async (command) => {
    const [name, ...args] = command;
    const upper = name.toUpperCase();
    const [first = "", ...rest] = args;
    if (upper === "EVAL" || upper === "EVAL_RO") {
      sources.set(sha1(first), first);
      return execute([name, translateScript(first, kind), ...rest]);
    }
    if (upper === "EVALSHA" || upper === "EVALSHA_RO") {
      const source = sources.get(first.toLowerCase());
      if (source === undefined) throw new Error("NOSCRIPT No matching script. Please use EVAL.");
      return execute([upper === "EVALSHA" ? "EVAL" : "EVAL_RO", translateScript(source, kind), ...rest]);
    }
    if (upper === "SCRIPT") {
      switch (first.toUpperCase()) {
        case "LOAD":
          sources.set(sha1(rest[0] ?? ""), rest[0] ?? "");
          return sha1(rest[0] ?? "");
        case "EXISTS":
          return rest.map((hash) => (sources.has(hash.toLowerCase()) ? 1 : 0));
        case "FLUSH":
          sources.clear();
          return "OK";
        default:
          throw new Error(`ERR unknown subcommand '${first}'`);
      }
    }
    return normalize(await execute(command));
  };
}

/** A real Redis server (REDIS_URL). */
export function redisBackend(url: string): RedisBackend {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  // While Redis is down each command fails (and the REST endpoint answers an error, as
  // Upstash's does); ioredis reconnects by itself. Without a listener it would also print every
  // failed reconnection as an unhandled error event.
  client.on("error", () => {});
  const execute = withScripts("redis", ([name, ...args]) => client.call(name, ...args));
  return {
    kind: "redis",
    execute,
    async transaction(commands) {
      const replies = (await client.multi(commands.map(([name, ...args]) => ["call", name, ...args])).exec()) ?? [];
      return replies.map(([error, result]) => (error ? { error: message(error) } : { result: normalize(result) }));
    },
    close: async () => {
      await client.quit();
    },
  };
}

const setOptions = new Set(["EX", "PX", "EXAT", "PXAT", "NX", "XX", "KEEPTTL", "GET"]);

/**
 * An in-memory Redis (ioredis-mock, Lua through fengari) for development without a Redis
 * server. Known gaps against Redis: no WRONGTYPE or integer checks on stored values; SET
 * options must be upper case (they are upper-cased here); inside Lua, nil replies in tables
 * stay nil instead of becoming false and `redis.error_reply` is missing, so @upstash/ratelimit's
 * tokenBucket does not run here (fixedWindow and slidingWindow do). Use REDIS_URL for those.
 */
export function embeddedBackend(): RedisBackend {
  const client = new RedisMock();
  const execute = withScripts("embedded", async ([name, ...args]) => {
    const method = (client as unknown as Record<string, unknown>)[name.toLowerCase()];
    if (typeof method !== "function") throw new Error(`ERR unknown command '${name}'`);
    const fixed =
      name.toUpperCase() === "SET"
        ? args.map((arg, i) => (i >= 2 && setOptions.has(arg.toUpperCase()) ? arg.toUpperCase() : arg))
        : args;
    try {
      return await (method as (...a: string[]) => Promise<unknown>).apply(client, fixed);
    } catch (error) {
      // The mock throws TypeErrors for what it does not implement; Redis answers ERR.
      if (error instanceof TypeError && /Unsupported command/.test(error.message)) {
        throw new Error(`ERR unknown command '${name}'`);
      }
      throw error;
    }
  });
  return {
    kind: "embedded",
    execute,
    async transaction(commands) {
      // One event loop: the queue runs with nothing else interleaved, as MULTI/EXEC promises.
      const results: Array<{ result?: unknown; error?: string }> = [];
      for (const command of commands) {
        try {
          results.push({ result: await execute(command) });
        } catch (error) {
          results.push({ error: message(error) });
        }
      }
      return results;
    },
    close: async () => {
      client.disconnect();
    },
  };
}
