import { type AuthVariables, insufficientScope } from "@edgebank/auth";
import { type ServiceName, serviceNames } from "@edgebank/contracts";
import {
  type Command,
  type RolloutPlan,
  rolloutPlanSchema,
  start,
  type Thresholds,
  thresholdsSchema,
} from "@edgebank/durable-objects/rollout";
import { AppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import defaultPlan from "../../../../deploy/rollout-plan.json";
import defaultThresholds from "../../../../deploy/rollout-thresholds.json";
import {
  getRollout,
  insertRollout,
  listRollouts,
  type RolloutRow,
  rolloutUnderWay,
  stateOf,
} from "../repo/rollouts.ts";
import { Traffic } from "../rollouts/traffic.ts";
import { rolloutObject, workerOf } from "../service.ts";

type AuthedEnv = ServiceEnv & { Variables: AuthVariables };

/** Operators and auditors (either scope): they read rollouts; only operators steer them. */
const staff: MiddlewareHandler<AuthedEnv> = async (c, next) => {
  const { scopes } = c.var.principal;
  if (!scopes.has("operator") && !scopes.has("auditor")) {
    throw insufficientScope("Rollouts are for operators and auditors (either scope).", ["operator", "auditor"]);
  }
  await next();
};

/** What a rollout may name: every service but the rollout controller itself. */
const services = serviceNames.filter((name) => name !== "delivery") as [ServiceName, ...ServiceName[]];

const step = z.object({ percentage: z.number(), holdSeconds: z.number(), minRequests: z.number() });
const rollout = z
  .object({
    id: z.string(),
    service: z.string(),
    worker: z.string(),
    stableVersionId: z.string(),
    canaryVersionId: z.string(),
    status: z.enum(["PROBING", "STEPPING", "PAUSED", "PROMOTED", "ROLLED_BACK", "ABORTED"]),
    canaryPercentage: z.number().describe("the new version's share of traffic now"),
    step: z.number().describe("the plan's step in force; -1 while probed at 0 %"),
    reason: z.string().nullable().describe("why it ended or paused"),
    startedBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    plan: z.object({ probes: z.array(z.string()), steps: z.array(step), maxInconclusive: z.number() }),
    history: z
      .array(
        z.object({
          at: z.string(),
          kind: z.string(),
          by: z.string(),
          detail: z.string(),
          verdict: z.string().optional(),
          figures: z.record(z.string(), z.unknown()).optional().describe("the analysis's figures per version"),
        }),
      )
      .describe("every step, probe run, analysis (with its figures) and command, oldest first"),
  })
  .openapi("Rollout");

function present(row: RolloutRow) {
  const state = stateOf(row);
  return {
    id: row.id,
    service: row.service,
    worker: row.worker,
    stableVersionId: row.stableVersionId,
    canaryVersionId: row.canaryVersionId,
    status: state.status,
    canaryPercentage: state.canaryPercentage,
    step: state.step,
    reason: state.reason ?? null,
    startedBy: row.startedBy,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    plan: state.plan,
    history: state.history.map(({ at, kind, by, detail, verdict, figures }) => ({
      at: new Date(at).toISOString(),
      kind,
      by,
      detail,
      ...(verdict ? { verdict } : {}),
      ...(figures ? { figures: figures as unknown as Record<string, unknown> } : {}),
    })),
  };
}

const startRoute = createRoute({
  method: "post",
  path: "/v1/operations/rollouts",
  tags: ["delivery", "operator"],
  summary: "Operator: roll a new version of a Worker out, probed at 0 % then step by step",
  description:
    "The stable version is the one serving all of the Worker's traffic now. Idempotent: the same " +
    "version of a Worker already rolling out answers that rollout (200); another one is a 409. The " +
    "plan and thresholds default to deploy/rollout-plan.json and deploy/rollout-thresholds.json.",
  security: [{ bearer: [] }],
  middleware: [authenticated("operator")] as const,
  request: {
    body: {
      content: {
        "application/json": {
          schema: z.object({
            service: z.enum(services),
            versionId: z.string().uuid(),
            plan: rolloutPlanSchema.optional(),
            thresholds: thresholdsSchema.optional(),
          }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "That version's rollout, already under way",
      content: { "application/json": { schema: rollout } },
    },
    201: { description: "The rollout, started", content: { "application/json": { schema: rollout } } },
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/operations/rollouts",
  tags: ["delivery", "operator"],
  summary: "Operators and auditors: rollouts, newest first",
  security: [{ bearer: [] }],
  middleware: [authenticated(), staff] as const,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      underWay: z.enum(["true", "false"]).default("false"),
    }),
  },
  responses: {
    200: {
      description: "Rollouts",
      content: { "application/json": { schema: z.object({ items: z.array(rollout) }) } },
    },
  },
});

const rolloutId = z.object({ id: z.string().regex(/^rol_[0-9a-z]{26}$/) });

const getRoute = createRoute({
  method: "get",
  path: "/v1/operations/rollouts/{id}",
  tags: ["delivery", "operator"],
  summary: "Operators and auditors: a rollout with every step, decision and figure",
  security: [{ bearer: [] }],
  middleware: [authenticated(), staff] as const,
  request: { params: rolloutId },
  responses: { 200: { description: "The rollout", content: { "application/json": { schema: rollout } } } },
});

const commandRoute = createRoute({
  method: "post",
  path: "/v1/operations/rollouts/{id}/{command}",
  tags: ["delivery", "operator"],
  summary: "Operator: pause, resume, promote or abort a rollout",
  description:
    "Recorded with the operator. Idempotent: the same Idempotency-Key answers what the command did " +
    "the first time, and a command already in effect changes nothing. An ended rollout refuses " +
    "what it cannot do (409). Promote gives the new version all traffic; abort gives it back to the stable one.",
  security: [{ bearer: [] }],
  middleware: [authenticated("operator")] as const,
  request: {
    params: rolloutId.extend({ command: z.enum(["pause", "resume", "promote", "abort"]) }),
    headers: z.object({ "idempotency-key": z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/) }),
  },
  responses: {
    200: { description: "The rollout after the command", content: { "application/json": { schema: rollout } } },
  },
});

/** A start that finds its Worker's rollout under way: the same version's is its answer (idempotent), another one's a 409. */
async function answerUnderWay(c: Context<AuthedEnv>, row: RolloutRow, versionId: string) {
  if (row.canaryVersionId !== versionId) {
    throw new AppError("conflict", `A rollout of ${row.worker} is under way (${row.id}).`, {
      extensions: { rolloutId: row.id },
    });
  }
  await rolloutObject(c.env, row.id).begin(row.id);
  return c.json(present(row), 200);
}

export function registerRolloutRoutes(app: OpenAPIHono<ServiceEnv>): void {
  app.openapi(startRoute, async (c) => {
    const { service, versionId, plan, thresholds } = c.req.valid("json");
    const worker = workerOf(c.env, service);
    const underWay = await rolloutUnderWay(c.var.db(), worker);
    if (underWay) return answerUnderWay(c, underWay, versionId);
    const serving = await new Traffic(c.env).current(worker);
    const [stable, ...others] = serving;
    if (!stable)
      throw new AppError("unprocessable", `${worker} is not deployed in this account: nothing to roll out over.`);
    if (others.length > 0 || stable.percentage !== 100) {
      throw new AppError(
        "conflict",
        `${worker} is not served by one version alone: finish what moves its traffic first.`,
        {
          extensions: { serving },
        },
      );
    }
    if (stable.version_id === versionId) {
      throw new AppError("unprocessable", `${versionId} already serves all of ${worker}'s traffic.`);
    }
    const state = start({
      id: newId("rollout"),
      worker,
      stableVersionId: stable.version_id,
      canaryVersionId: versionId,
      plan: (plan ?? defaultPlan) as RolloutPlan,
      thresholds: (thresholds ?? defaultThresholds) as Thresholds,
      by: c.var.principal.subject,
      now: Date.now(),
    });
    const written = await insertRollout(c.var.db(), state, service);
    if ("existing" in written) return answerUnderWay(c, written.existing, versionId);
    await rolloutObject(c.env, state.id).begin(state.id);
    c.header("location", `/v1/operations/rollouts/${state.id}`);
    return c.json(present(written.inserted), 201);
  });

  app.openapi(listRoute, async (c) => {
    const { limit, underWay } = c.req.valid("query");
    const rows = await listRollouts(c.var.db(), { limit, underWayOnly: underWay === "true" });
    return c.json({ items: rows.map(present) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const row = await getRollout(c.var.db(), c.req.valid("param").id);
    if (!row) throw new AppError("not_found", "No such rollout.");
    return c.json(present(row), 200);
  });

  app.openapi(commandRoute, async (c) => {
    const { id, command } = c.req.valid("param");
    if (!(await getRollout(c.var.db(), id))) throw new AppError("not_found", "No such rollout.");
    const outcome = await rolloutObject(c.env, id).command(id, {
      commandId: `${c.var.principal.subject}:${c.req.valid("header")["idempotency-key"]}`,
      command: command as Command,
      by: c.var.principal.subject,
    });
    if (!outcome.ok)
      throw new AppError("conflict", `Cannot ${command}: ${outcome.detail}.`, {
        extensions: { status: outcome.status },
      });
    const row = await getRollout(c.var.db(), id);
    if (!row) throw new AppError("not_found", "No such rollout.");
    return c.json(present(row), 200);
  });
}
