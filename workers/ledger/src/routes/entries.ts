import { AppError } from "@edgebank/errors";
import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { findEntry, type RecordedEntry, recordEntry } from "../domain/journal.ts";
import { checkpointKey } from "../service.ts";

const reference = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "1 to 128 characters of [A-Za-z0-9._:-]");
const signedMinorUnits = z
  .string()
  .regex(/^-?[1-9][0-9]{0,17}$/, "a non-zero whole number of minor units, negative for a debit");

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

export function presentEntry(entry: RecordedEntry) {
  return {
    id: entry.id,
    sequence: entry.sequence.toString(),
    transferId: entry.transferId,
    description: entry.description,
    recordedAt: entry.recordedAt.toISOString(),
    previousHash: entry.previousHash,
    hash: entry.hash,
    postings: entry.postings.map((p) => ({
      accountId: p.accountId,
      amount: p.amount.toString(),
      currency: p.currency,
    })),
  };
}

const recordRoute = createRoute({
  method: "post",
  path: "/internal/v1/ledger/entries",
  tags: ["internal"],
  summary: "Service: record a completed movement as a balanced entry, once per transfer id",
  description:
    "201 with the new entry; 200 with the recorded one when the same transfer id and postings come " +
    "again; 409 when the transfer id is recorded with other postings; 422 when the postings do not " +
    "sum to zero per currency.",
  security: [{ bearer: [] }],
  middleware: [authenticated("ledger:write")] as const,
  request: {
    body: {
      content: {
        "application/json": {
          schema: z.object({
            transferId: reference,
            description: z.string().trim().min(1).max(200),
            postings: z
              .array(
                z.object({
                  accountId: reference,
                  amount: signedMinorUnits,
                  currency: z.string().regex(/^[A-Z]{3}$/, "an ISO 4217 code"),
                }),
              )
              .min(2)
              .max(20),
          }),
        },
      },
      required: true,
    },
  },
  responses: {
    200: { description: "Already recorded", content: { "application/json": { schema: entrySchema } } },
    201: { description: "Recorded", content: { "application/json": { schema: entrySchema } } },
  },
});

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
  app.openapi(recordRoute, async (c) => {
    const body = c.req.valid("json");
    const { entry, replayed } = await recordEntry(
      c.var.db(),
      {
        transferId: body.transferId,
        description: body.description,
        postings: body.postings.map((p) => ({ ...p, amount: BigInt(p.amount) })),
      },
      await checkpointKey(c.env),
    );
    c.header("location", `/v1/ledger/entries/by-transfer/${entry.transferId}`);
    return replayed ? c.json(presentEntry(entry), 200) : c.json(presentEntry(entry), 201);
  });

  app.openapi(byTransferRoute, async (c) => {
    const { transferId } = c.req.valid("param");
    const entry = await findEntry(c.var.db(), { transferId });
    if (!entry) throw new AppError("not_found", `No entry records transfer ${transferId}.`);
    return c.json(presentEntry(entry), 200);
  });
}
