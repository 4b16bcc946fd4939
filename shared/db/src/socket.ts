import { connect } from "cloudflare:sockets";
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";

/**
 * A plaintext TCP socket for postgres.js on Workers, built on `cloudflare:sockets`.
 *
 * postgres.js's own Workers socket (postgres@3.4.9, `cf/polyfills.js`) re-emits the read
 * loop's error after the connection removed its listeners when a connection is closed, which
 * throws inside an un-awaited promise: one unhandled rejection per `sql.end()`
 * (porsager/postgres#1196, #1202). This socket gives postgres.js what it uses (an EventEmitter
 * with write, end, destroy, pause, resume, setKeepAlive) and emits `error` only to a listener.
 * postgres.js expects a socket from its `socket` option to be connected already.
 */
export async function openWorkersSocket(host: string, port: number): Promise<EventEmitter> {
  const raw = connect({ hostname: host, port }, { allowHalfOpen: false });
  const writer = raw.writable.getWriter();
  const reader = raw.readable.getReader();
  const socket = new WorkersSocket(raw, writer);
  await raw.opened;

  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        socket.emit("data", Buffer.from(value));
      }
    } catch (error) {
      if (!socket.closing && socket.listenerCount("error") > 0) socket.emit("error", error);
    } finally {
      socket.markClosed();
    }
  })();
  return socket;
}

class WorkersSocket extends EventEmitter {
  readyState: "open" | "closed" = "open";
  closing = false;

  constructor(
    private readonly raw: Socket,
    private readonly writer: WritableStreamDefaultWriter<Uint8Array>,
  ) {
    super();
  }

  write(data: Uint8Array, callback?: (error?: unknown) => void): boolean {
    this.writer.write(data).then(
      () => callback?.(),
      (error: unknown) => {
        callback?.(error);
        if (this.listenerCount("error") > 0) this.emit("error", error);
      },
    );
    return true;
  }

  end(data?: Uint8Array): void {
    this.closing = true;
    const close = () => {
      this.raw.close().catch(() => undefined);
    };
    if (data) this.write(data, close);
    else close();
  }

  destroy(): void {
    this.end();
  }

  /** Flow control is left to the runtime's stream; postgres.js calls these around COPY. */
  pause(): void {}
  resume(): void {}
  setKeepAlive(): void {}

  markClosed(): void {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    this.emit("close");
  }
}
