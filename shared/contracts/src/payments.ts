import { z } from "zod";
import type { ContractRefusal, RpcMethod } from "./rpc.ts";

/**
 * The payments service's internal contract: what other services may ask of payments. Inventory
 * lists a product only for a merchant of the user who lists it, so it asks which merchants a
 * user runs (the acting user is the argument; the caller is the binding).
 */

/** A merchant as another service needs it: who it is and the currency it takes. */
export interface MerchantSummary {
  id: string;
  name: string;
  currency: string;
}

export type MerchantsOfResult = { status: "found"; merchants: MerchantSummary[] } | ContractRefusal;

export const paymentsContract = {
  merchantsOf: {
    input: z.object({ ownerId: z.string().min(1).max(128), traceparent: z.string().max(128).optional() }),
    callers: ["inventory"],
  },
} as const satisfies Record<string, RpcMethod<z.ZodType>>;

export type MerchantsOfInput = z.input<typeof paymentsContract.merchantsOf.input>;

/** The payments entrypoint (`PaymentsRpc`) as a caller's binding sees it. */
export interface PaymentsService {
  merchantsOf(input: MerchantsOfInput): Promise<MerchantsOfResult>;
}
