import { WorkerEntrypoint } from "cloudflare:workers";
import {
  type MerchantsOfInput,
  type MerchantsOfResult,
  type PaymentsService,
  paymentsContract,
} from "@edgebank/contracts";
import { withDatabase } from "@edgebank/db";
import { rpcServer } from "@edgebank/http";
import { listOwnedMerchants } from "./repo/merchants.ts";
import { serviceSettings } from "./service.ts";

const serve = rpcServer("payments", "PaymentsRpc", paymentsContract);

/**
 * The payments service's internal contract (`paymentsContract` in @edgebank/contracts) as Workers
 * RPC: inventory binds to this entrypoint with `props.caller` naming itself.
 */
export class PaymentsRpc extends WorkerEntrypoint<Env> implements PaymentsService {
  /** The merchants a user runs, newest first: whom that user may list products for. */
  merchantsOf(input: MerchantsOfInput): Promise<MerchantsOfResult> {
    return serve(this.env, this.ctx, "merchantsOf", input, async ({ ownerId }) => {
      const rows = await withDatabase(serviceSettings(this.env), (db) => listOwnedMerchants(db, ownerId));
      return {
        status: "found" as const,
        merchants: rows.map((row) => ({ id: row.id, name: row.name, currency: row.currency })),
      };
    });
  }
}
