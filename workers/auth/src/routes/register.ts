import { AppError } from "@edgebank/errors";
import type { ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { registerUser } from "../domain/identity.ts";

const registration = z
  .object({
    email: z.email().max(320),
    // NIST SP 800-63B: long passphrases allowed, no composition rules, a sensible minimum.
    password: z.string().min(12, "at least 12 characters").max(256),
    // Businesses sign up themselves (a merchant can register merchants and refund payments);
    // staff roles are never granted through this route.
    accountType: z.enum(["customer", "merchant"]).optional().describe("customer when left out"),
  })
  .openapi("Registration");

const route = createRoute({
  method: "post",
  path: "/v1/auth/register",
  tags: ["auth"],
  summary: "Create a customer (or merchant) account",
  request: { body: { content: { "application/json": { schema: registration } }, required: true } },
  responses: {
    201: {
      description: "Created",
      content: {
        "application/json": {
          schema: z.object({ id: z.string(), email: z.string(), role: z.string() }).openapi("User"),
        },
      },
    },
    409: { description: "An account with this email already exists" },
  },
});

export function registerRegistration(app: OpenAPIHono<ServiceEnv>): void {
  app.openapi(route, async (c) => {
    const { email, password, accountType } = c.req.valid("json");
    if (password.trim().toLowerCase() === email.trim().toLowerCase()) {
      throw validationErrorFor("password", "must not be the email address");
    }
    const user = await registerUser(c.var.db(), { email, password, role: accountType ?? "customer" });
    c.header("location", `/v1/auth/users/${user.id}`);
    return c.json(user, 201);
  });
}

function validationErrorFor(field: string, message: string): AppError {
  return new AppError("validation_failed", "The request body is invalid: 1 field is invalid.", {
    extensions: { errors: [{ pointer: `/${field}`, in: "body", message, code: "custom" }] },
  });
}
