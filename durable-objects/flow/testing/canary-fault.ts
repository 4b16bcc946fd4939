/**
 * What makes a second version bad in rollout tests (`npm run dev -- --version
 * transfers=<fault>`): `5xx:<share>` fails that share of the flows a request starts (the call
 * that would start it throws, so nothing moves and the route answers 500), `latency:<ms>` makes
 * each such call wait that long first. Both happen inside the route, where the app measures its
 * own answers, so the rollout judges them from the version's real figures.
 */
export type CanaryFault = { kind: "5xx"; share: number } | { kind: "latency"; ms: number };

/**
 * `5xx:0.2` or `latency:300`; undefined for anything else (no fault). The one reading of a fault:
 * the test build switches it on, and `npm run dev --version` checks what it is given with it.
 */
export function parseCanaryFault(value: string | undefined): CanaryFault | undefined {
  const failing = /^5xx:(0(?:\.\d+)?|1)$/.exec(value ?? "");
  if (failing) return { kind: "5xx", share: Number(failing[1]) };
  const slow = /^latency:(\d{1,5})$/.exec(value ?? "");
  return slow ? { kind: "latency", ms: Number(slow[1]) } : undefined;
}
