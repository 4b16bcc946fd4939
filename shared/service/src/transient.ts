import { AppError } from "@edgebank/errors";

/**
 * A call that may succeed later: the network, a 5xx, a 429, a stale token, a callee that threw.
 * Rendered to a client as a 503 problem; what exactly failed is in `what` (logged, never rendered).
 */
export class TransientFailure extends AppError {
  constructor(readonly what: string) {
    super("dependency_unavailable", "A service this request depends on is unavailable; retry later.", {
      cause: new Error(what),
    });
  }
}
