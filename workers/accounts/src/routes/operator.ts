import type { Principal } from "@edgebank/auth";
import type { Database } from "@edgebank/db";
import type { OperationResult } from "@edgebank/durable-objects/account";
import { AppError } from "@edgebank/errors";
import { formatTraceparent } from "@edgebank/http";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { getVisibleAccount, presentAccount } from "../domain/accounts.ts";
import { accountObjects } from "../service.ts";

const accountId = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
const idempotencyKey = z.object({ "idempotency-key": z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/) });
const account = z.record(z.string(), z.unknown());

/** A refused operator action: why, in words and as a stable reason. */
function refused(result: OperationResult): AppError {
  const messages: Record<string, string> = {
    account_not_empty: "An account closes only with a zero balance and no open holds.",
    account_closed: "The account is closed; closing is final.",
    limit_below_balance: "The balance is below the new credit limit's floor; it cannot be lowered that far.",
  };
  const reason = result.reason ?? "refused";
  return new AppError(
    reason === "limit_below_balance" ? "unprocessable" : "conflict",
    messages[reason] ?? `Refused: ${reason}.`,
    {
      extensions: { reason },
    },
  );
}

function statusRoute(action: "freeze" | "unfreeze" | "close") {
  return createRoute({
    method: "post",
    path: `/v1/accounts/{id}/${action}`,
    tags: ["accounts", "operator"],
    summary: `Operator: ${action} an account (Idempotency-Key is the operation id)`,
    security: [{ bearer: [] }],
    middleware: [authenticated("operator")] as const,
    request: { params: accountId, headers: idempotencyKey },
    responses: { 200: { description: "Done", content: { "application/json": { schema: account } } } },
  });
}

const creditLimitRoute = createRoute({
  method: "post",
  path: "/v1/accounts/{id}/credit-limit",
  tags: ["accounts", "operator"],
  summary: "Operator: set the credit limit (minor units)",
  security: [{ bearer: [] }],
  middleware: [authenticated("operator")] as const,
  request: {
    params: accountId,
    headers: idempotencyKey,
    body: {
      content: {
        "application/json": {
          schema: z.object({ creditLimit: z.string().regex(/^(0|[1-9][0-9]{0,17})$/, "minor units") }),
        },
      },
      required: true,
    },
  },
  responses: { 200: { description: "Done", content: { "application/json": { schema: account } } } },
});

const statusOf = { freeze: "frozen", unfreeze: "active", close: "closed" } as const;

type AccountStub = ReturnType<Env["ACCOUNT"]["get"]>;

/** Runs an operator action through the account's single writer and answers with the account after it. */
async function act(
  input: { db: Database; principal: Principal; env: object; id: string },
  run: (stub: AccountStub) => Promise<OperationResult>,
) {
  const row = await getVisibleAccount(input.db, input.principal, input.id);
  const objects = accountObjects(input.env);
  const result = await run(objects.get(objects.idFromName(row.id)));
  if (result.status === "refused") throw refused(result);
  return presentAccount(await getVisibleAccount(input.db, input.principal, input.id));
}

export function registerOperatorRoutes(app: OpenAPIHono<ServiceEnv>): void {
  for (const action of ["freeze", "unfreeze", "close"] as const) {
    app.openapi(statusRoute(action), async (c) => {
      const { id } = c.req.valid("param");
      const operationId = c.req.valid("header")["idempotency-key"];
      const body = await act({ db: c.var.db(), principal: c.var.principal, env: c.env, id }, (stub) =>
        stub.setStatus({
          accountId: id,
          operationId,
          status: statusOf[action],
          actor: c.var.principal.subject,
          traceparent: formatTraceparent(c.var.trace),
        }),
      );
      return c.json(body, 200);
    });
  }
  app.openapi(creditLimitRoute, async (c) => {
    const { id } = c.req.valid("param");
    const operationId = c.req.valid("header")["idempotency-key"];
    const creditLimit = BigInt(c.req.valid("json").creditLimit);
    const body = await act({ db: c.var.db(), principal: c.var.principal, env: c.env, id }, (stub) =>
      stub.setCreditLimit({
        accountId: id,
        operationId,
        creditLimit,
        actor: c.var.principal.subject,
        traceparent: formatTraceparent(c.var.trace),
      }),
    );
    return c.json(body, 200);
  });
}
