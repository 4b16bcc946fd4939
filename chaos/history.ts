/**
 * The history of a chaos run, in Jepsen's shape: one JSON object per line, each an `invoke` by a
 * client process, then its completion: `ok` (the system answered and the answer is final),
 * `fail` (it refused: nothing may have happened) or `info` (unknown: the answer was lost, or it
 * was not final yet). The run ends with one `final` observation of the whole system, read after
 * every fault has healed, which the checker holds the history against.
 */
import { z } from "zod";

const minor = z.string().regex(/^-?[0-9]+$/);

/** What a client asks for. `key` is the Idempotency-Key it sends (and sends again on a retry). */
const moneyMove = z.object({
  key: z.string(),
  f: z.enum(["transfer", "deposit", "withdraw", "pay", "refund"]),
  from: z.string().optional(),
  to: z.string().optional(),
  amount: minor,
  currency: z.string(),
});

export const operation = z.discriminatedUnion("f", [
  z.object({
    f: z.literal("move"),
    type: z.enum(["invoke", "ok", "fail", "info"]),
    process: z.number().int(),
    time: z.number(),
    value: moneyMove.extend({
      /** On completion: the flow's id and the status the answer carried (a 202 says PENDING). */
      id: z.string().optional(),
      status: z.string().optional(),
      httpStatus: z.number().int().optional(),
      reason: z.string().optional(),
    }),
  }),
  z.object({
    f: z.literal("read"),
    type: z.enum(["invoke", "ok", "fail", "info"]),
    process: z.number().int(),
    time: z.number(),
    value: z.object({
      accountId: z.string(),
      balance: z.object({ posted: minor, pending: minor, available: minor, creditLimit: minor }).optional(),
    }),
  }),
  z.object({
    /**
     * An order (POST /v1/orders, always answered 202 PENDING: payment and stock follow by events)
     * or its cancellation (POST /v1/orders/{id}/cancel).
     */
    f: z.enum(["order", "cancel"]),
    type: z.enum(["invoke", "ok", "fail", "info"]),
    process: z.number().int(),
    time: z.number(),
    value: z.object({
      key: z.string(),
      accountId: z.string(),
      lines: z.array(z.object({ sku: z.string(), quantity: z.number().int() })).optional(),
      id: z.string().optional(),
      status: z.string().optional(),
      httpStatus: z.number().int().optional(),
      reason: z.string().optional(),
    }),
  }),
  z.object({
    /** An operator's retry of a flow left in NEEDS_ATTENTION (POST /v1/{flows}/{id}/retry). */
    f: z.literal("repair"),
    type: z.enum(["invoke", "ok", "fail", "info"]),
    process: z.number().int(),
    time: z.number(),
    value: z.object({
      id: z.string(),
      flow: z.enum(["transfer", "payment", "refund"]),
      httpStatus: z.number().int().optional(),
    }),
  }),
  z.object({
    /** A fault the nemesis began (`start`) or healed (`stop`). */
    f: z.literal("nemesis"),
    type: z.literal("info"),
    process: z.literal(-1),
    time: z.number(),
    value: z.object({ fault: z.string(), phase: z.enum(["start", "stop"]), detail: z.string().optional() }),
  }),
  z.object({
    f: z.literal("final"),
    type: z.literal("ok"),
    process: z.number().int(),
    time: z.number(),
    value: z.object({
      /** Every account, the settlement accounts included. */
      accounts: z.record(
        z.string(),
        z.object({
          currency: z.string(),
          kind: z.enum(["customer", "system"]),
          posted: minor,
          pending: minor,
          creditLimit: minor,
        }),
      ),
      /**
       * Per flow id (transfer, payment, refund): its credits in the accounts journal less the
       * reversals of them (`:credit` minus `:reverse-credit…`): 1 when it moved money, else 0.
       */
      credits: z.record(z.string(), z.number().int()),
      /** Per flow id: its entries in the ledger. */
      ledgerEntries: z.record(z.string(), z.number().int()),
      /** Per account: the sum of its ledger postings. */
      ledgerBalances: z.record(z.string(), minor),
      /** The hash chain and its signed checkpoints verified. */
      chainValid: z.boolean(),
      /**
       * Per flow id (transfer, payment, refund): the notifications its users got, by title
       * ("Transfer completed", "Money received", "Payment completed", …).
       */
      notified: z.record(z.string(), z.record(z.string(), z.number().int())).default({}),
      /**
       * Per order: how it ended, its lines, and the payment made for it (`order <id>`), if any,
       * with how much of it was refunded (a cancellation that raced the capture refunds it all).
       */
      orders: z
        .record(
          z.string(),
          z.object({
            status: z.string(),
            lines: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
            payment: z.object({ id: z.string(), status: z.string(), amount: minor, refunded: minor }).optional(),
          }),
        )
        .default({}),
      /** Per product: the stock the run gave it and what the catalogue says is available. */
      products: z.record(z.string(), z.object({ stocked: z.number().int(), available: z.number().int() })).default({}),
      /** Per Idempotency-Key: what asking again answered after the run (the real outcome). */
      answers: z.record(
        z.string(),
        z.object({ httpStatus: z.number().int(), id: z.string().optional(), status: z.string().optional() }),
      ),
    }),
  }),
]);
export type Operation = z.infer<typeof operation>;
export type MoveOperation = Extract<Operation, { f: "move" }>;
export type FinalObservation = Extract<Operation, { f: "final" }>["value"];

/** A history as its file holds it: one operation per line. */
export function parseHistory(text: string): Operation[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, index) => {
      const parsed = operation.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`history line ${index + 1}: ${parsed.error.message}`);
      return parsed.data;
    });
}

export const formatHistory = (operations: readonly Operation[]) =>
  `${operations.map((op) => JSON.stringify(op)).join("\n")}\n`;
