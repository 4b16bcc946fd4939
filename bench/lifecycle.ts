/**
 * Stops what a benchmark started, once: after its run (`await stop()` in its `finally`), and on
 * Ctrl-C or SIGTERM (then exits 130), so nothing is left running either way.
 */
export function stopOnce(steps: () => Promise<void>): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= steps();
    return stopped;
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void stop().finally(() => process.exit(130)));
  }
  return stop;
}
