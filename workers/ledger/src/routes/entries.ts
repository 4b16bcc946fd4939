import { AppError } from "@edgebank/errors";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { findEntry } from "../domain/journal.ts";
import { presentEntry } from "../services/record.ts";

const reference = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "1 to 128 characters of [A-Za-z0-9._:-]");

export const entrySchema = z
  .object({
    id: z.string(),
    sequence: z.string(),
    transferId: z.string(),
    description: z.string(),
    recordedAt: z.string(),
    previousHash: z.string(),
    hash: z.string(),
    postings: z.array(z.object({ accountId: z.string(), amount: z.string(), currency: z.string() })),
  })
  .openapi("LedgerEntry");

const byTransferRoute = createRoute({
  method: "get",
  path: "/v1/ledger/entries/by-transfer/{transferId}",
  tags: ["ledger"],
  summary: "Auditor: the entry of a transfer",
  security: [{ bearer: [] }],
  middleware: [authenticated("auditor")] as const,
  request: { params: z.object({ transferId: reference.openapi({ param: { name: "transferId", in: "path" } }) }) },
  responses: { 200: { description: "The entry", content: { "application/json": { schema: entrySchema } } } },
});

export function registerEntryRoutes(app: OpenAPIHono<ServiceEnv>): void {
  app.openapi(byTransferRoute, async (c) => {
    const { transferId } = c.req.valid("param");
    const entry = await findEntry(c.var.db(), { transferId });
    if (!entry) throw new AppError("not_found", `No entry records transfer ${transferId}.`);
    return c.json(presentEntry(entry), 200);
  });
}
