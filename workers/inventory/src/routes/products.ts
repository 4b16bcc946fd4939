import type { AuthVariables } from "@edgebank/auth";
import { sku as skuSchema } from "@edgebank/contracts";
import { AppError } from "@edgebank/errors";
import { isId } from "@edgebank/ids";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { findProduct, listProducts } from "../repo/products.ts";
import { createProduct, presentProduct, restockProduct } from "../services/products.ts";

type AuthedEnv = ServiceEnv & { Variables: AuthVariables };

const sku = skuSchema.openapi({ param: { name: "sku", in: "path" } });

const product = z
  .object({
    sku: z.string(),
    name: z.string(),
    price: z.string().describe("minor units"),
    currency: z.string(),
    merchantId: z.string(),
    available: z.number().describe("what can be ordered now: on hand minus reserved"),
  })
  .openapi("Product");

const listRoute = createRoute({
  method: "get",
  path: "/v1/products",
  tags: ["products"],
  summary: "The catalogue, by SKU (public)",
  request: {
    query: z.object({
      merchantId: z
        .string()
        .refine((value) => isId("merchant", value), "not a merchant id")
        .optional(),
      limit: z.coerce.number().int().min(1).max(100).default(50),
      cursor: skuSchema.optional().describe("the last SKU of the previous page"),
    }),
  },
  responses: {
    200: {
      description: "A page of products",
      content: {
        "application/json": { schema: z.object({ items: z.array(product), nextCursor: z.string().optional() }) },
      },
    },
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/products/{sku}",
  tags: ["products"],
  summary: "One product and what can be ordered of it now (public)",
  request: { params: z.object({ sku }) },
  responses: { 200: { description: "The product", content: { "application/json": { schema: product } } } },
});

const createProductRoute = createRoute({
  method: "post",
  path: "/v1/products",
  tags: ["products"],
  summary: "Merchant: list a product for one of the caller's merchants, in its currency",
  security: [{ bearer: [] }],
  middleware: [authenticated("merchant:write")] as const,
  request: {
    body: {
      content: {
        "application/json": {
          schema: z
            .object({
              sku: skuSchema,
              name: z.string().trim().min(1).max(140),
              price: z.string().regex(/^[1-9][0-9]{0,17}$/, "a positive whole number of minor units"),
              merchantId: z.string().refine((value) => isId("merchant", value), "not a merchant id"),
              stock: z.number().int().min(0).max(1_000_000).optional().describe("Units in stock; 0 when left out"),
            })
            .strict(),
        },
      },
      required: true,
    },
  },
  responses: { 201: { description: "Listed", content: { "application/json": { schema: product } } } },
});

const restockRoute = createRoute({
  method: "post",
  path: "/v1/products/{sku}/restock",
  tags: ["products"],
  summary: "Merchant: add stock to one of the caller's products (recorded)",
  security: [{ bearer: [] }],
  middleware: [authenticated("merchant:write")] as const,
  request: {
    params: z.object({ sku }),
    body: {
      content: {
        "application/json": {
          schema: z.object({ quantity: z.number().int().min(1).max(1_000_000) }).strict(),
        },
      },
      required: true,
    },
  },
  responses: { 200: { description: "The product", content: { "application/json": { schema: product } } } },
});

export function registerProductRoutes(app: OpenAPIHono<ServiceEnv>): void {
  const authed = app as unknown as OpenAPIHono<AuthedEnv>;

  app.openapi(listRoute, async (c) => {
    const { merchantId, limit, cursor } = c.req.valid("query");
    const rows = await listProducts(c.var.db(), { merchantId, cursor, limit });
    const items = rows.slice(0, limit).map(presentProduct);
    const nextCursor = rows.length > limit ? items.at(-1)?.sku : undefined;
    return c.json({ items, ...(nextCursor ? { nextCursor } : {}) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const row = await findProduct(c.var.db(), c.req.valid("param").sku);
    if (!row) throw new AppError("not_found", "Product does not exist.");
    return c.json(presentProduct(row), 200);
  });

  authed.openapi(createProductRoute, async (c) => {
    const body = c.req.valid("json");
    const row = await createProduct(
      { db: c.var.db(), env: c.env, principal: c.var.principal },
      { ...body, stock: body.stock ?? 0 },
    );
    c.header("location", `/v1/products/${row.sku}`);
    return c.json(presentProduct(row), 201);
  });

  authed.openapi(restockRoute, async (c) => {
    const ctx = { db: c.var.db(), principal: c.var.principal };
    const row = await restockProduct(ctx, c.req.valid("param").sku, c.req.valid("json").quantity);
    return c.json(presentProduct(row), 200);
  });
}
