import { DurableObject } from "cloudflare:workers";
import { traceWork } from "@edgebank/http";

/** What a relay object has done since it was loaded (operators, tests, benchmarks). */
export interface RelayObjectStatus {
  /** Writers that told it they committed events. */
  pokes: number;
  /** Relay runs it made for them (each publishes everything pending at its start). */
  runs: number;
  running: boolean;
}

/**
 * How long a relay run waits after the poke that started it, for the pokes right behind it:
 * under load, a run per tenth of a second takes everything committed meanwhile (events reach
 * Kafka at most that much later; the benchmarks' commit-to-consumer latency includes it).
 */
const COALESCE_MS = 100;

/**
 * A service's relay after commit, as one Durable Object (named after the service): writers
 * that committed events poke it instead of relaying themselves, and it runs one relay at a time,
 * once more after a run if pokes arrived during it. A thousand AccountDOs committing at once
 * then make a handful of relay runs for all their events, not a thousand (each a database
 * connection, a claim, a produce request and a mark). Nothing depends on it for correctness:
 * a lost poke leaves events pending for the next poke or the cron sweeper.
 */
export abstract class OutboxRelayDO<E = unknown> extends DurableObject<E> {
  #running: Promise<void> | undefined;
  #again = false;
  #pokes = 0;
  #runs = 0;

  /** The service whose outbox this object relays (its spans are named after it). */
  protected abstract readonly service: string;

  /** One relay run of the service's outbox (never throws: what fails stays pending). */
  protected abstract relayOutbox(): Promise<void>;

  /** A relay run, traced as a child of `parent`: the traceparent of the poke that started it. */
  #relay(parent: string | undefined): Promise<void> {
    return traceWork(
      this.service,
      this.env,
      { name: `${this.service} outbox relay run`, parent, waitUntil: (promise) => this.ctx.waitUntil(promise) },
      () => this.relayOutbox(),
    );
  }

  /**
   * Events were committed: relay them soon. Resolves once a run that started after the poke
   * ended. `traceparent`: the committing operation's, so its trace shows the relay.
   */
  poke(traceparent?: string): Promise<void> {
    this.#pokes += 1;
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        // Writers commit in bursts (a transfer's three account operations within a few
        // milliseconds, many transfers at once): a short wait lets one run take them all.
        await new Promise((resolve) => setTimeout(resolve, COALESCE_MS));
        do {
          this.#again = false;
          this.#runs += 1;
          await this.#relay(traceparent);
        } while (this.#again);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  status(): RelayObjectStatus {
    return { pokes: this.#pokes, runs: this.#runs, running: this.#running !== undefined };
  }
}

/** Pokes the service's relay object (see OutboxRelayDO). */
export function pokeOutboxRelay(
  namespace: DurableObjectNamespace<OutboxRelayDO>,
  service: string,
  traceparent?: string,
): Promise<void> {
  return namespace.get(namespace.idFromName(service)).poke(traceparent);
}
