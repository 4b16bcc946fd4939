/**
 * The gateway's limits count calls in windows cut from the epoch (a sliding window weighs the
 * previous one in). A test that counts a few calls exactly starts well inside a window, so that its
 * calls never straddle a window's end.
 */
export async function startInsideWindow(windowSeconds: number, marginMs = 3_000): Promise<void> {
  const windowMs = windowSeconds * 1_000;
  const into = Date.now() % windowMs;
  if (into > windowMs - marginMs) await new Promise((resolve) => setTimeout(resolve, windowMs - into + 50));
}
