/**
 * One Idempotency-Key per intent of the user (a transfer, a payment, an order). A retry of the
 * same form sends the same key, so a request whose answer was lost cannot move money twice; the
 * key is replaced once the server has answered for good (done, or refused: a refusal is stored
 * under its key, so a corrected form needs a new one), and kept while the outcome is unknown (a
 * network error, a 5xx, or 409 while the first attempt still runs).
 */
import { idempotencyKey, ProblemError } from "@edgebank/client";

export class Intent {
  #key = idempotencyKey();

  get key(): string {
    return this.#key;
  }

  /** After an attempt: `error` is what it threw, if it did. */
  settled(error?: unknown): void {
    const final =
      error === undefined ||
      (error instanceof ProblemError && error.status < 500 && error.problem.code !== "idempotency_in_progress");
    if (final) this.#key = idempotencyKey();
  }
}
