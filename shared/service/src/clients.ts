import { bindingWith, defineConfig } from "@edgebank/config";
import { AppError } from "@edgebank/errors";
import { currentTraceparent, withSpan } from "@edgebank/telemetry";
import { z } from "zod";
import { forgetServiceToken, serviceToken } from "./credentials.ts";

/**
 * The money-moving services' calls to accounts and ledger (transfers, payments), over their
 * service bindings with the caller's own service token. Every answer is sorted into what the
 * caller must do with it: a final outcome (applied, refused for a stated reason, not found, a
 * conflict that needs a human), or a TransientFailure to retry later with the same operation id.
 */
const bindings = defineConfig(
  z.object({
    ACCOUNTS: bindingWith("fetch").transform((binding) => binding as unknown as Fetcher),
    LEDGER: bindingWith("fetch").transform((binding) => binding as unknown as Fetcher),
  }),
);

/** The service scopes this service asks for. */
const SCOPE = "accounts:operate ledger:write";

/**
 * A call that may succeed later: the network, a 5xx, a 429, a stale token. Rendered to a
 * client as a 503 problem; what exactly failed is in `what` (logged, never rendered).
 */
export class TransientFailure extends AppError {
  constructor(readonly what: string) {
    super("dependency_unavailable", "A service this request depends on is unavailable; retry later.", {
      cause: new Error(what),
    });
  }
}

export type Outcome =
  | { kind: "applied"; body: Record<string, unknown> }
  | { kind: "refused"; reason: string; detail: string }
  | { kind: "not_found" }
  | { kind: "conflict"; detail: string };

async function call(
  env: object,
  service: "accounts" | "ledger",
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const binding = service === "accounts" ? bindings(env).ACCOUNTS : bindings(env).LEDGER;
  const method = init.method ?? "GET";
  return withSpan(`${method} ${service}`, { kind: "client", attributes: { "http.request.method": method } }, (span) =>
    send(env, binding, path, init).then((response) => {
      span?.setAttributes({ "http.response.status_code": response.status });
      return response;
    }),
  );
}

async function send(env: object, binding: Fetcher, path: string, init: RequestInit): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${await serviceToken(env, SCOPE)}`);
  if (init.body) headers.set("content-type", "application/json");
  // The callee's server span nests under this call's span.
  const traceparent = currentTraceparent();
  if (traceparent) headers.set("traceparent", traceparent);
  let response: Response;
  try {
    response = await binding.fetch(`https://internal${path}`, { ...init, headers, signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    throw new TransientFailure(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (response.status === 401) {
    forgetServiceToken(env, SCOPE); // a rotated key or an expired token: fetch a new one next time
    throw new TransientFailure(`${path}: 401`);
  }
  if (response.status === 429 || response.status >= 500) {
    throw new TransientFailure(`${path}: ${response.status} ${(await response.text()).slice(0, 200)}`);
  }
  return response;
}

async function outcomeOf(response: Response): Promise<Outcome> {
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  const detail = typeof body.detail === "string" ? body.detail : `status ${response.status}`;
  if (response.ok) return { kind: "applied", body };
  if (response.status === 404) return { kind: "not_found" };
  if (response.status === 422 && typeof body.reason === "string")
    return { kind: "refused", reason: body.reason, detail };
  return { kind: "conflict", detail };
}

export type AccountOperation =
  | { kind: "hold"; operationId: string; holdId: string; amount: string; currency: string; expiresAt: string }
  | { kind: "credit"; operationId: string; amount: string; currency: string; requireActive?: boolean }
  | { kind: "debit"; operationId: string; amount: string; currency: string }
  | { kind: "capture"; operationId: string; holdId: string }
  | { kind: "release"; operationId: string; holdId: string };

/**
 * One operation on an account, through the accounts service's command API. `traceparent`: the
 * trace of the request or saga asking for it, which the account's event continues.
 */
export async function operateAccount(
  env: object,
  accountId: string,
  operation: AccountOperation,
  traceparent?: string,
): Promise<Outcome> {
  const response = await call(env, "accounts", `/internal/v1/accounts/${accountId}/operations`, {
    method: "POST",
    body: JSON.stringify(operation),
    ...(traceparent ? { headers: { traceparent } } : {}),
  });
  return outcomeOf(response);
}

export interface AccountSummary {
  id: string;
  kind: "customer" | "system";
  ownerId: string;
  currency: string;
  status: "active" | "frozen" | "closed";
  available: string;
}

/** An account's owner, currency and status; undefined when there is no such account. */
export async function accountSummary(env: object, accountId: string): Promise<AccountSummary | undefined> {
  const response = await call(env, "accounts", `/internal/v1/accounts/${accountId}`);
  if (response.status === 404 || response.status === 400) return undefined;
  if (!response.ok) throw new AppError("dependency_unavailable", "The accounts service answered unexpectedly.");
  return (await response.json()) as AccountSummary;
}

/** The external settlement account of a currency; undefined when the bank holds none. */
export async function settlementAccount(env: object, currency: string): Promise<string | undefined> {
  const response = await call(env, "accounts", `/internal/v1/settlement-accounts/${currency}`);
  if (response.status === 404) return undefined;
  if (!response.ok) throw new AppError("dependency_unavailable", "The accounts service answered unexpectedly.");
  return ((await response.json()) as { id: string }).id;
}

export interface LedgerEntryInput {
  /** The movement's id (a transfer, a payment, a refund): an entry is recorded once per id. */
  transferId: string;
  description: string;
  postings: Array<{ accountId: string; amount: string; currency: string }>;
}

/** Records the movement in the ledger (idempotent by its id). */
export async function recordInLedger(env: object, entry: LedgerEntryInput): Promise<Outcome> {
  const response = await call(env, "ledger", "/internal/v1/ledger/entries", {
    method: "POST",
    body: JSON.stringify(entry),
  });
  return outcomeOf(response);
}
