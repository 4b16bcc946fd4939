import type { Resource, TraceExporter } from "./otlp.ts";
import type { SpanRecord, SpanSink } from "./span.ts";

/**
 * The spans one invocation (a request, a Durable Object call or alarm, a cron run, a consumed
 * batch) makes, exported together when its root span ends, and again for any span that ends
 * later (work the invocation left to `waitUntil`). Head sampling decides per trace; a segment
 * with an error is exported whatever it decided, so failures are always kept.
 */
export class Segment implements SpanSink {
  #pending: SpanRecord[] = [];
  #errored = false;
  #rootEnded = false;
  #scheduled = false;

  readonly sampled: boolean;
  readonly #resource: Resource;
  readonly #exporter: TraceExporter;
  readonly #waitUntil: (promise: Promise<unknown>) => void;

  constructor(
    sampled: boolean,
    resource: Resource,
    exporter: TraceExporter,
    waitUntil: (promise: Promise<unknown>) => void,
  ) {
    this.sampled = sampled;
    this.#resource = resource;
    this.#exporter = exporter;
    this.#waitUntil = waitUntil;
  }

  add(span: SpanRecord): void {
    this.#pending.push(span);
    if (this.#rootEnded) this.#schedule();
  }

  markError(): void {
    this.#errored = true;
  }

  /** The root span ended: export what there is now, and what ends later as it ends. */
  rootEnded(): void {
    this.#rootEnded = true;
    this.#schedule();
  }

  #schedule(): void {
    if (!this.sampled && !this.#errored) {
      this.#pending.length = 0; // a trace sampled out, with nothing failed: nothing leaves
      return;
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    // Gather the spans that end in the same turn into one request.
    this.#waitUntil(
      Promise.resolve().then(() => {
        this.#scheduled = false;
        const spans = this.#pending.splice(0);
        return this.#exporter.export(this.#resource, spans);
      }),
    );
  }
}
