import type { Thresholds } from "./plan.ts";

/** What one version did over an analysis window (from the Analytics Engine, per version id). */
export interface VersionFigures {
  requests: number;
  /** Answers with a 5xx status. */
  serverErrors: number;
  /** Per route: requests and latency percentiles in milliseconds. */
  routes: Record<string, { requests: number; p50: number; p95: number; p99: number }>;
  /** Transfers and payments that reached an outcome, and of them the completed ones. */
  settled: number;
  completed: number;
}

/** The money invariants over the same window: they hold or not, whichever version broke them. */
export interface Invariants {
  /** Accounts whose balance differs from the ledger's in a reconciliation run for this analysis. */
  reconciliationMismatches: number;
  ledgerChainValid: boolean;
  /** Transfers, payments and refunds that reached NEEDS_ATTENTION in the window. */
  needsAttention: number;
}

export interface Figures {
  stable: VersionFigures;
  canary: VersionFigures;
  invariants: Invariants;
}

export type Verdict = "Successful" | "Failed" | "Inconclusive";

export interface Analysis {
  verdict: Verdict;
  /** Why, in words an operator reads in the rollout's history (a Successful one says what it compared). */
  reasons: string[];
  figures: Figures;
}

const ratio = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);
const percent = (value: number) => `${(value * 100).toFixed(2)} %`;

/**
 * Judges the new version ("canary") against the stable one over one window. A broken money
 * invariant fails at once, however little traffic there was. Otherwise a canary that served
 * fewer than `minRequests` is Inconclusive (never promoted on silence); with enough traffic it
 * fails on its 5xx ratio, on a route's median, p95 or p99 (compared only where both versions served
 * enough of that route), or on its share of transfers and payments completed.
 */
export function judge(figures: Figures, thresholds: Thresholds, minRequests: number): Analysis {
  const { stable, canary, invariants } = figures;
  const failures: string[] = [];
  if (invariants.reconciliationMismatches > 0) {
    failures.push(`reconciliation found ${invariants.reconciliationMismatches} account(s) differing from the ledger`);
  }
  if (!invariants.ledgerChainValid) failures.push("the ledger's hash chain does not verify");
  if (invariants.needsAttention > 0) {
    failures.push(`${invariants.needsAttention} money flow(s) reached NEEDS_ATTENTION during the step`);
  }
  if (failures.length > 0) return { verdict: "Failed", reasons: failures, figures };
  if (canary.requests < minRequests) {
    return {
      verdict: "Inconclusive",
      reasons: [`the new version served ${canary.requests} of the ${minRequests} requests an analysis needs`],
      figures,
    };
  }

  const checked: string[] = [];
  const canaryErrors = ratio(canary.serverErrors, canary.requests);
  const stableErrors = ratio(stable.serverErrors, stable.requests);
  const { errors, latency, business } = thresholds;
  if (canaryErrors > errors.maxRatio) {
    failures.push(`5xx ratio ${percent(canaryErrors)} is above the ${percent(errors.maxRatio)} allowed`);
  } else if (canaryErrors - stableErrors > errors.maxIncrease) {
    failures.push(
      `5xx ratio ${percent(canaryErrors)} against ${percent(stableErrors)} for the stable version ` +
        `(at most ${percent(errors.maxIncrease)} more allowed)`,
    );
  } else {
    checked.push(`5xx ratio ${percent(canaryErrors)} (stable ${percent(stableErrors)})`);
  }

  let routesCompared = 0;
  for (const [route, mine] of Object.entries(canary.routes).sort(([a], [b]) => a.localeCompare(b))) {
    const theirs = stable.routes[route];
    if (!theirs || mine.requests < latency.minRouteRequests || theirs.requests < latency.minRouteRequests) continue;
    routesCompared += 1;
    for (const [name, maxRatio] of [
      ["p50", latency.p50MaxRatio],
      ["p95", latency.p95MaxRatio],
      ["p99", latency.p99MaxRatio],
    ] as const) {
      const slower = mine[name] - theirs[name];
      if (mine[name] > theirs[name] * maxRatio && slower >= latency.minIncreaseMs) {
        failures.push(
          `${route}: ${name} ${mine[name].toFixed(0)} ms against ${theirs[name].toFixed(0)} ms for the stable ` +
            `version (at most ×${maxRatio}, or ${latency.minIncreaseMs} ms more)`,
        );
      }
    }
  }
  checked.push(`latency of ${routesCompared} route(s) served enough by both versions`);

  if (canary.settled >= business.minSettled && stable.settled >= business.minSettled) {
    const canaryRate = ratio(canary.completed, canary.settled);
    const stableRate = ratio(stable.completed, stable.settled);
    if (stableRate - canaryRate > business.maxSuccessDrop) {
      failures.push(
        `${percent(canaryRate)} of transfers and payments completed against ${percent(stableRate)} ` +
          `for the stable version (at most ${percent(business.maxSuccessDrop)} fewer allowed)`,
      );
    } else {
      checked.push(`${percent(canaryRate)} of money flows completed (stable ${percent(stableRate)})`);
    }
  }
  if (failures.length > 0) return { verdict: "Failed", reasons: failures, figures };
  return { verdict: "Successful", reasons: checked, figures };
}
