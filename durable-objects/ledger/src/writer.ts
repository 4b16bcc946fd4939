/**
 * The single writer of the ledger's chain: appends are queued, and while one batch is being
 * committed the next waits and then takes everything that queued meanwhile (group commit: one
 * transaction, one lock of the chain and one commit for many entries, each caller its own
 * outcome, in the order they arrived). A batch that fails fails every append in it (nothing of
 * it was committed, or the store's uniqueness answers a retry as a replay), so a caller retries
 * with the same input.
 */
export class ChainWriter<I, O> {
  readonly #append: (batch: I[]) => Promise<O[]>;
  readonly #maxBatch: number;
  #queue: Array<{ input: I; resolve: (outcome: O) => void; reject: (error: unknown) => void }> = [];
  #draining = false;

  /** `append` commits a batch in one transaction and answers one outcome per input, in order. */
  constructor(append: (batch: I[]) => Promise<O[]>, maxBatch = 100) {
    this.#append = append;
    this.#maxBatch = maxBatch;
  }

  /** Appends `input` with whatever else is waiting; resolves once its batch committed. */
  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      if (!this.#draining) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const outcomes = await this.#append(batch.map((waiting) => waiting.input));
          if (outcomes.length !== batch.length) {
            throw new Error(`a batch of ${batch.length} appends answered ${outcomes.length} outcomes`);
          }
          for (const [index, waiting] of batch.entries()) waiting.resolve(outcomes[index] as O);
        } catch (error) {
          for (const waiting of batch) waiting.reject(error);
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}
