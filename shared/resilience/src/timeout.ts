import type { Clock } from "./clock.ts";
import { TimeoutError } from "./errors.ts";

/**
 * Runs `attempt` with a deadline. The attempt gets an AbortSignal that fires at the deadline
 * or when `parent` aborts, so it can cancel its I/O; the caller is answered at that moment
 * (TimeoutError, or the parent's reason) without waiting for the attempt to notice.
 */
export async function withTimeout<T>(
  attempt: (signal: AbortSignal) => Promise<T>,
  options: { ms: number; downstream: string; clock: Clock; parent?: AbortSignal },
): Promise<T> {
  const { parent } = options;
  if (parent?.aborted) throw parent.reason;
  const controller = new AbortController();
  const cancelTimer = new AbortController();
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
  });
  const onParentAbort = () => controller.abort(parent?.reason);
  parent?.addEventListener("abort", onParentAbort, { once: true });
  options.clock.sleep(options.ms, cancelTimer.signal).then(
    () => controller.abort(new TimeoutError(options.downstream, options.ms)),
    () => undefined, // the attempt settled first and cancelled the timer
  );
  const attempted = attempt(controller.signal);
  // If the deadline wins, the attempt may still reject later: that is expected, not unhandled.
  attempted.catch(() => undefined);
  try {
    return await Promise.race([attempted, aborted]);
  } finally {
    cancelTimer.abort();
    parent?.removeEventListener("abort", onParentAbort);
  }
}
