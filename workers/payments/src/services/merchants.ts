import type { Principal } from "@edgebank/auth";
import type { Database } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import { accountSummary } from "@edgebank/service/clients";
import { findMerchant, insertMerchant, type MerchantRow } from "../repo/merchants.ts";

const unprocessable = (detail: string, reason: string) =>
  new AppError("unprocessable", detail, { extensions: { reason } });

/** Opens a merchant on one of the caller's active accounts, which then receives its payments. */
export async function createMerchant(
  ctx: { db: Database; env: object; principal: Principal },
  input: { name: string; accountId: string },
): Promise<MerchantRow> {
  const account = await accountSummary(ctx.env, input.accountId);
  if (!account || account.ownerId !== ctx.principal.subject) {
    throw new AppError("not_found", `Account ${input.accountId} does not exist.`);
  }
  if (account.status !== "active") {
    throw unprocessable(`The account is ${account.status}.`, `account_${account.status}`);
  }
  const row = await insertMerchant(ctx.db, {
    id: newId("merchant"),
    ownerId: ctx.principal.subject,
    name: input.name,
    accountId: input.accountId,
    currency: account.currency,
  });
  if (!row) throw new AppError("conflict", "That account already receives a merchant's payments.");
  return row;
}

/**
 * Who a payment is between, checked before anything is written: the merchant exists and takes the
 * currency, the payer's account is the caller's, holds that currency and is not the merchant's.
 */
export async function paymentParties(
  ctx: { db: Database; env: object; principal: Principal },
  input: { merchantId: string; fromAccountId: string; currency: string },
): Promise<MerchantRow> {
  const merchant = await findMerchant(ctx.db, input.merchantId);
  if (!merchant) throw new AppError("not_found", `Merchant ${input.merchantId} does not exist.`);
  if (merchant.currency !== input.currency) {
    throw unprocessable(`The merchant takes ${merchant.currency}.`, "currency_mismatch");
  }
  if (merchant.accountId === input.fromAccountId) {
    throw unprocessable("A merchant does not pay itself.", "same_account");
  }
  const payer = await accountSummary(ctx.env, input.fromAccountId);
  if (!payer || payer.ownerId !== ctx.principal.subject) {
    throw new AppError("not_found", `Account ${input.fromAccountId} does not exist.`);
  }
  if (payer.currency !== input.currency) {
    throw unprocessable(`The account holds ${payer.currency}.`, "currency_mismatch");
  }
  return merchant;
}
