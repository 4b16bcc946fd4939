import type { Principal } from "@edgebank/auth";
import type { Database } from "@edgebank/db";
import type { OperationResult } from "@edgebank/durable-objects/account";
import { AppError } from "@edgebank/errors";
import { getVisibleAccount, presentAccount } from "../domain/accounts.ts";
import { accountObjects } from "../service.ts";

type AccountStub = ReturnType<Env["ACCOUNT"]["get"]>;

const messages: Record<string, string> = {
  account_not_empty: "An account closes only with a zero balance and no open holds.",
  account_closed: "The account is closed; closing is final.",
  limit_below_balance: "The balance is below the new credit limit's floor; it cannot be lowered that far.",
};

/** A refused operator action: why, in words and as a stable reason. */
function refused(result: OperationResult): AppError {
  const reason = result.reason ?? "refused";
  return new AppError(
    reason === "limit_below_balance" ? "unprocessable" : "conflict",
    messages[reason] ?? `Refused: ${reason}.`,
    { extensions: { reason } },
  );
}

/**
 * Runs an operator action (freeze, unfreeze, close, credit limit) through the account's single
 * writer and answers with the account after it. The account must be one the operator can see; a
 * refusal is an AppError carrying its reason.
 */
export async function runOperatorAction(
  input: { db: Database; principal: Principal; env: object; id: string },
  run: (stub: AccountStub) => Promise<OperationResult>,
) {
  const row = await getVisibleAccount(input.db, input.principal, input.id);
  const objects = accountObjects(input.env);
  const result = await run(objects.get(objects.idFromName(row.id)));
  if (result.status === "refused") throw refused(result);
  return presentAccount(await getVisibleAccount(input.db, input.principal, input.id));
}
