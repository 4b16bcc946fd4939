import type { Json } from "@edgebank/durable-objects/flow";
import { AppError, toProblem } from "@edgebank/errors";
import { presentTransfer, type TransferRow } from "./transfers.ts";

/** Reasons a failed transfer is answered with, in words. */
export const failureDetails: Record<string, string> = {
  insufficient_funds: "The source account's available balance does not cover the amount.",
  account_frozen: "An account of this transfer is frozen.",
  account_closed: "An account of this transfer is closed.",
  currency_mismatch: "The accounts do not both hold this currency.",
  destination_not_found: "The destination account does not exist.",
  compensated_by_operator: "An operator undid the transfer after it could not finish.",
};

/**
 * What a transfer request is answered: 201 completed, 422 failed, 404 when its source is not
 * the caller's (a problem document, the same as for an account that does not exist), else 202.
 */
export interface TransferAnswer {
  status: 201 | 202 | 404 | 422;
  body: { [key: string]: Json };
}

/**
 * The answer to a transfer request, from its row: the same whether the route makes it or the
 * saga's settlement stores it under the request's Idempotency-Key (a repeat replays it as is).
 */
export function transferAnswer(row: TransferRow, request: { instance: string; requestId: string }): TransferAnswer {
  if (row.status === "COMPLETED") return { status: 201, body: presentTransfer(row) };
  if (row.status === "FAILED" && row.failureReason === "source_not_found" && row.kind === "transfer") {
    const { problem } = toProblem(new AppError("not_found", `Account ${row.fromAccountId} does not exist.`), request);
    return { status: 404, body: problem as unknown as TransferAnswer["body"] };
  }
  if (row.status === "FAILED") {
    const reason = row.failureReason ?? "failed";
    const { problem } = toProblem(
      new AppError("unprocessable", failureDetails[reason] ?? `The transfer failed: ${reason}.`, {
        extensions: { reason, transferId: row.id },
      }),
      request,
    );
    return { status: 422, body: problem as unknown as TransferAnswer["body"] };
  }
  return { status: 202, body: presentTransfer(row) };
}

/** Whether an answer is the key's final one (stored for every repeat); a 202 is not. */
export const isFinal = (answer: TransferAnswer) => answer.status !== 202;
