import type { AuthVariables } from "@edgebank/auth";
import { FLOW_ANSWER_WITHIN_MS } from "@edgebank/durable-objects/flow/shell";
import { AppError, type ProblemDocument, problemResponse } from "@edgebank/errors";
import { formatTraceparent } from "@edgebank/http";
import { isId, newId } from "@edgebank/ids";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { accountSummary, settlementAccount } from "@edgebank/service/clients";
import { replayResponse, requestFingerprint } from "@edgebank/service/idempotency";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { failureDetails, type TransferAnswer, transferAnswer } from "../domain/answers.ts";
import { transferStatuses } from "../domain/statuses.ts";
import {
  getVisibleTransfer,
  listTransfers,
  presentTransfer,
  resumeTransfer,
  storeResponse,
  type TransferInput,
  type TransferRow,
} from "../domain/transfers.ts";
import type { SagaState, Submitted, TransferRequest } from "../saga/transfer-saga-do.ts";
import { sagaHostOf, sagaOf } from "../service.ts";

type AuthedEnv = ServiceEnv & { Variables: AuthVariables };

const transfer = z
  .object({
    id: z.string(),
    kind: z.enum(["transfer", "deposit", "withdrawal"]),
    fromAccountId: z.string(),
    toAccountId: z.string(),
    amount: z.string(),
    currency: z.string(),
    description: z.string(),
    status: z.enum(transferStatuses),
    failureReason: z.string().optional(),
    createdAt: z.string(),
    completedAt: z.string().optional(),
  })
  .openapi("Transfer");

const accountId = z.string().refine((value) => isId("account", value), "not an account id");
const minorUnits = z.string().regex(/^[1-9][0-9]{0,17}$/, "a positive whole number of minor units");
const currency = z.string().regex(/^[A-Z]{3}$/, "an ISO 4217 code");
const idempotencyKey = z.object({ "idempotency-key": z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/) });
const descriptionText = z.string().trim().min(1).max(140);

/** What every money-moving POST answers (a failure is a 422 problem). */
const movementResponses = {
  201: { description: "Completed", content: { "application/json": { schema: transfer } } },
  202: { description: "Still running", content: { "application/json": { schema: transfer } } },
};
const transferId = z.object({
  id: z
    .string()
    .refine((value) => isId("transfer", value), "not a transfer id")
    .openapi({ param: { name: "id", in: "path" } }),
});

const createRouteDef = createRoute({
  method: "post",
  path: "/v1/transfers",
  tags: ["transfers"],
  summary: "Move money from one of the caller's accounts to another account (same currency)",
  description:
    "Requires an Idempotency-Key. 201 with the completed transfer; 422 with a `reason` when it " +
    "failed (insufficient_funds, account_frozen, account_closed, currency_mismatch, …; nothing " +
    "moved); 202 with Location while it is still running. A repeat with the same key gets the " +
    "same answer with Idempotent-Replayed: true; the same key with another body is a 422.",
  security: [{ bearer: [] }],
  middleware: [authenticated("transfers:write")] as const,
  request: {
    headers: idempotencyKey,
    body: {
      content: {
        "application/json": {
          schema: z.object({
            fromAccountId: accountId,
            toAccountId: accountId,
            amount: minorUnits,
            currency,
            description: descriptionText,
          }),
        },
      },
      required: true,
    },
  },
  responses: movementResponses,
});

const getRouteDef = createRoute({
  method: "get",
  path: "/v1/transfers/{id}",
  tags: ["transfers"],
  summary: "One transfer (its requester, operators and auditors)",
  security: [{ bearer: [] }],
  middleware: [authenticated("transfers:read")] as const,
  request: { params: transferId },
  responses: { 200: { description: "The transfer", content: { "application/json": { schema: transfer } } } },
});

const listRouteDef = createRoute({
  method: "get",
  path: "/v1/transfers",
  tags: ["transfers"],
  summary: "The caller's transfers, newest first (operators and auditors: everyone's)",
  security: [{ bearer: [] }],
  middleware: [authenticated("transfers:read")] as const,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z
        .string()
        .refine((value) => isId("transfer", value), "not a cursor from this API")
        .optional(),
      status: z.enum(transferStatuses).optional(),
    }),
  },
  responses: {
    200: {
      description: "A page of transfers",
      content: {
        "application/json": { schema: z.object({ items: z.array(transfer), nextCursor: z.string().optional() }) },
      },
    },
  },
});

function operatorRouteDef(kind: "deposit" | "withdrawal") {
  return createRoute({
    method: "post",
    path: `/v1/transfers/${kind}s`,
    tags: ["transfers", "operator"],
    summary:
      kind === "deposit"
        ? "Operator: money in, from the currency's external settlement account"
        : "Operator: money out, to the currency's external settlement account",
    description: "Answers like POST /v1/transfers; the operator is recorded as the requester.",
    security: [{ bearer: [] }],
    middleware: [authenticated("operator")] as const,
    request: {
      headers: idempotencyKey,
      body: {
        content: {
          "application/json": {
            schema: z.object({
              accountId,
              amount: minorUnits,
              currency,
              description: descriptionText,
            }),
          },
        },
        required: true,
      },
    },
    responses: movementResponses,
  });
}

const retryRouteDef = createRoute({
  method: "post",
  path: "/v1/transfers/{id}/retry",
  tags: ["transfers", "operator"],
  summary: "Operator: run a saga in NEEDS_ATTENTION again from the step that could not finish",
  description: "Recorded with the operator. Answers the transfer after a short wait (PENDING if still running).",
  security: [{ bearer: [] }],
  middleware: [authenticated("operator")] as const,
  request: { params: transferId },
  responses: { 200: { description: "The transfer", content: { "application/json": { schema: transfer } } } },
});

const compensateRouteDef = createRoute({
  method: "post",
  path: "/v1/transfers/{id}/compensate",
  tags: ["transfers", "operator"],
  summary: "Operator: undo what a saga in NEEDS_ATTENTION did, and end it FAILED",
  description:
    "Takes back the credit, gives back what was captured (or releases the hold), each with its own " +
    "operation id, and ends the transfer FAILED with reason `compensated_by_operator`. Recorded with " +
    "the operator. 409 when the transfer does not need attention or is already in the ledger (a " +
    "recorded movement is reversed by a new transfer). If an undo is refused (the destination spent " +
    "the money, or is frozen) the transfer is back in NEEDS_ATTENTION with that reason.",
  security: [{ bearer: [] }],
  middleware: [authenticated("operator")] as const,
  request: { params: transferId },
  responses: { 200: { description: "The transfer", content: { "application/json": { schema: transfer } } } },
});

/** An answer as the response it is (a problem document when it is a refusal). */
function respond(c: Context<AuthedEnv>, answer: TransferAnswer): Response {
  if (answer.status >= 400) return problemResponse(answer.body as unknown as ProblemDocument);
  return c.json(answer.body, answer.status);
}

/** The answer to a transfer request once its saga has had its time: final, or 202 with where to poll. */
function answerFor(c: Context<AuthedEnv>, answer: TransferAnswer, saga: SagaState | undefined): Response {
  if (answer.status !== 202) return respond(c, answer);
  const id = String(answer.body.id);
  c.header("location", `/v1/transfers/${id}`);
  c.header("retry-after", "1");
  return c.json({ ...answer.body, ...(saga ? { step: saga.step } : {}) }, 202);
}

/**
 * Runs a validated movement under the caller's Idempotency-Key. The saga's host does the work
 * (see TransferSagaDO.submit): the durable record and the transfer row on its kept connection,
 * the saga, a bounded wait for its outcome; the route answers from what it comes back with.
 */
async function runTransfer(
  c: Context<AuthedEnv>,
  key: string,
  request: { path: string; body: unknown },
  input: TransferInput,
  ownedBy?: string,
): Promise<Response> {
  const principal = c.var.principal;
  const subject = {
    id: newId("transfer"),
    kind: input.kind,
    fromAccountId: input.fromAccountId,
    toAccountId: input.toAccountId,
    amount: input.amount.toString(),
    currency: input.currency,
    description: input.description,
    traceparent: formatTraceparent(c.var.trace),
    ...(ownedBy !== undefined ? { ownedBy } : {}),
    answerTo: { principal: principal.subject, key, instance: request.path, requestId: c.var.requestId },
  };
  const fingerprint = await requestFingerprint("POST", request.path, request.body);
  let submitted: Submitted;
  try {
    submitted = await sagaHostOf(c.env, subject.id).submit({ subject, fingerprint }, FLOW_ANSWER_WITHIN_MS);
  } catch (error) {
    // The host may crash or be evicted meanwhile: once the saga is stored its alarm resumes it
    // and the caller gets a 202 to poll (a stub whose object was reset is broken for good: ask
    // through a new one); a saga that never started is this request's failure (a repeat of the
    // key starts it).
    const state = await sagaOf(c.env, subject.id)
      .outcome()
      .catch(() => undefined);
    if (!state) throw error;
    return settledAnswer(c, await getVisibleTransfer(c.var.db(), principal, subject.id), state, subject.answerTo);
  }
  switch (submitted.kind) {
    case "refused":
      throw new AppError(submitted.code, submitted.detail, {
        extensions: submitted.extensions,
        headers: submitted.headers,
      });
    case "replay":
      return replayResponse(submitted);
    case "begun":
      return settledAnswer(c, submitted.transfer, submitted.state, subject.answerTo);
    case "resume": {
      // The key's first request died before its saga ended: its saga, in its own host, goes on.
      const row = submitted.transfer;
      const { id, kind, fromAccountId, toAccountId, amount, currency, description } = presentTransfer(row);
      const resumed = { ...subject, id, kind, fromAccountId, toAccountId, amount, currency, description };
      return settledAnswer(c, row, await sagaOf(c.env, id).begin(resumed, FLOW_ANSWER_WITHIN_MS), subject.answerTo);
    }
  }
}

/**
 * The answer once a saga has had its time, from `row` as it was begun: 202 with where to poll
 * while it runs; else the flow's result, the answer its settlement stored under the key in the
 * same commit (a final one; a stop for an operator is a 202).
 */
async function settledAnswer(
  c: Context<AuthedEnv>,
  row: TransferRow,
  state: SagaState | undefined,
  answerTo: TransferRequest["subject"]["answerTo"],
): Promise<Response> {
  if (!state) throw new Error(`the saga of ${row.id} has no state after it began`);
  if (state.status === "RUNNING") return answerFor(c, transferAnswer(row, answerTo), state);
  const answer = state.result as TransferAnswer | undefined;
  if (answer) return answerFor(c, answer, state);
  // A flow stored before flows kept their answer: from the row, stored here.
  const db = c.var.db();
  const settled = await getVisibleTransfer(db, c.var.principal, row.id);
  const response = answerFor(c, transferAnswer(settled, answerTo), state);
  // A 202 is not the key's answer: a repeat gets the outcome once the saga settles.
  if (response.status !== 202) {
    const body = (await response.clone().json()) as Record<string, unknown>;
    await storeResponse(db, answerTo.principal, answerTo.key, response.status, body);
  }
  return response;
}

function currencyMismatch(): AppError {
  return new AppError("unprocessable", failureDetails.currency_mismatch ?? "", {
    extensions: { reason: "currency_mismatch" },
  });
}

export function registerTransferRoutes(app: OpenAPIHono<ServiceEnv>): void {
  app.openapi(createRouteDef, async (c) => {
    const principal = c.var.principal;
    const body = c.req.valid("json");
    if (body.fromAccountId === body.toAccountId) {
      throw new AppError("unprocessable", "The source and destination must differ.", {
        extensions: { reason: "same_account" },
      });
    }
    // The caller must own the source: the saga's hold checks it (and the currency) as it holds
    // the amount, so nothing is read before; a stranger's account is answered as a missing one.
    const response = await runTransfer(
      c,
      c.req.valid("header")["idempotency-key"],
      { path: "/v1/transfers", body },
      { kind: "transfer", ...body, amount: BigInt(body.amount) },
      principal.subject,
    );
    return response as never;
  });

  for (const kind of ["deposit", "withdrawal"] as const) {
    app.openapi(operatorRouteDef(kind), async (c) => {
      const body = c.req.valid("json");
      const account = await accountSummary(c.env, body.accountId);
      if (account?.kind !== "customer") {
        throw new AppError("not_found", `Account ${body.accountId} does not exist.`);
      }
      if (account.currency !== body.currency) throw currencyMismatch();
      const settlement = await settlementAccount(c.env, body.currency);
      if (!settlement) throw new AppError("unprocessable", `The bank does not settle ${body.currency}.`);
      const [fromAccountId, toAccountId] =
        kind === "deposit" ? [settlement, body.accountId] : [body.accountId, settlement];
      const response = await runTransfer(
        c,
        c.req.valid("header")["idempotency-key"],
        { path: `/v1/transfers/${kind}s`, body },
        {
          kind,
          fromAccountId,
          toAccountId,
          amount: BigInt(body.amount),
          currency: body.currency,
          description: body.description,
        },
      );
      return response as never;
    });
  }

  app.openapi(retryRouteDef, async (c) => {
    const { id } = c.req.valid("param");
    const db = c.var.db();
    await resumeTransfer(db, c.var.principal, id, "retry");
    await sagaOf(c.env, id).retry();
    await sagaOf(c.env, id)
      .outcome(FLOW_ANSWER_WITHIN_MS)
      .catch(() => undefined);
    return c.json(presentTransfer(await getVisibleTransfer(db, c.var.principal, id)), 200);
  });

  app.openapi(compensateRouteDef, async (c) => {
    const { id } = c.req.valid("param");
    const db = c.var.db();
    const saga = sagaOf(c.env, id);
    // The saga says first whether it can be compensated, so a refusal changes nothing.
    const visible = await getVisibleTransfer(db, c.var.principal, id);
    const plan = await saga.compensation();
    if (plan === undefined) throw new AppError("conflict", `Transfer ${visible.id} has no saga.`);
    if ("refused" in plan) throw new AppError("conflict", plan.refused);
    await resumeTransfer(db, c.var.principal, id, "compensate");
    await saga.compensate();
    await saga.outcome(FLOW_ANSWER_WITHIN_MS).catch(() => undefined);
    return c.json(presentTransfer(await getVisibleTransfer(db, c.var.principal, id)), 200);
  });

  app.openapi(getRouteDef, async (c) => {
    const row = await getVisibleTransfer(c.var.db(), c.var.principal, c.req.valid("param").id);
    return c.json(presentTransfer(row), 200);
  });

  app.openapi(listRouteDef, async (c) => {
    const page = await listTransfers(c.var.db(), c.var.principal, c.req.valid("query"));
    return c.json(
      { items: page.items.map(presentTransfer), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) },
      200,
    );
  });
}
