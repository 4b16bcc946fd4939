import { formatTraceparent } from "@edgebank/http";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { runOperatorAction } from "../services/operator-actions.ts";

const accountId = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
const idempotencyKey = z.object({ "idempotency-key": z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/) });
const account = z.record(z.string(), z.unknown());

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

export function registerOperatorRoutes(app: OpenAPIHono<ServiceEnv>): void {
  for (const action of ["freeze", "unfreeze", "close"] as const) {
    app.openapi(statusRoute(action), async (c) => {
      const { id } = c.req.valid("param");
      const operationId = c.req.valid("header")["idempotency-key"];
      const body = await runOperatorAction({ db: c.var.db(), principal: c.var.principal, env: c.env, id }, (stub) =>
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
    const body = await runOperatorAction({ db: c.var.db(), principal: c.var.principal, env: c.env, id }, (stub) =>
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
