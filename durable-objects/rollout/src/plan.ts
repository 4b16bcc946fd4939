import { z } from "zod";

/**
 * How a new version of a Worker reaches all of its traffic: first at 0 % with synthetic probes
 * (through the gateway, with a version override), then step by step, each step held for a while
 * and until the new version has served enough requests to judge, then analysed.
 */
export const rolloutStepSchema = z.object({
  /** The new version's share of the Worker's traffic during the step. */
  percentage: z.number().int().min(1).max(100),
  /** How long the step runs before its analysis. */
  holdSeconds: z.number().int().min(1),
  /** Requests the new version must have served in the step for an analysis to conclude. */
  minRequests: z.number().int().min(0),
});

export const rolloutPlanSchema = z
  .object({
    /** The synthetic checks run against the new version at 0 % before any user reaches it. */
    probes: z.array(z.enum(["sign_in", "balance", "transfer", "order"])).min(1),
    steps: z.array(rolloutStepSchema).min(1),
    /**
     * Inconclusive analyses in a row (too little traffic) after which the rollout pauses for an
     * operator instead of waiting on: silence never promotes.
     */
    maxInconclusive: z.number().int().min(1),
  })
  .superRefine(({ steps }, context) => {
    steps.forEach((step, i) => {
      const previous = steps[i - 1];
      if (previous && step.percentage <= previous.percentage) {
        context.addIssue({
          code: "custom",
          path: ["steps", i, "percentage"],
          message: "each step must give the new version more traffic than the one before",
        });
      }
    });
    if (steps.at(-1)?.percentage !== 100) {
      context.addIssue({ code: "custom", path: ["steps"], message: "the last step must reach 100 %" });
    }
  });

export type RolloutPlan = z.infer<typeof rolloutPlanSchema>;
export type RolloutStep = z.infer<typeof rolloutStepSchema>;

/** When the new version is worse than the stable one (both measured over the same window). */
export const thresholdsSchema = z.object({
  errors: z.object({
    /** A 5xx ratio of the new version above this fails the step, whatever the stable one does. */
    maxRatio: z.number().min(0).max(1),
    /** …and so does one this far above the stable version's. */
    maxIncrease: z.number().min(0).max(1),
  }),
  latency: z.object({
    /** Requests each version must have served on a route for its percentiles to be compared. */
    minRouteRequests: z.number().int().min(1),
    /**
     * The new version's median (p95, p99) of a route may be at most this many times the stable
     * one's… The median sees a version slower on every request even over a few dozen answers,
     * where the tail percentiles move with single answers. (Absent from rollouts started before
     * it was judged: 1.25.)
     */
    p50MaxRatio: z.number().min(1).default(1.25),
    p95MaxRatio: z.number().min(1),
    p99MaxRatio: z.number().min(1),
    /** …unless it is less than this many milliseconds slower (noise on fast routes). */
    minIncreaseMs: z.number().min(0),
  }),
  business: z.object({
    /** Settled transfers and payments each version must have for their success rates to be compared. */
    minSettled: z.number().int().min(1),
    /** The new version's share completed (of settled) may be at most this much below the stable one's. */
    maxSuccessDrop: z.number().min(0).max(1),
  }),
});

export type Thresholds = z.infer<typeof thresholdsSchema>;
