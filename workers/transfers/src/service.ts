import { bindingWith, defineConfig } from "@edgebank/config";
import { databaseSettings } from "@edgebank/db";
import { flowHandle, flowStub } from "@edgebank/durable-objects/flow/shell";
import { createServiceApp } from "@edgebank/service";
import { z } from "zod";

/** The transfers service skeleton: shared middleware, its database, health and readiness. */
export const { app, config } = createServiceApp({
  name: "transfers",
  dbBinding: "TRANSFERS_DB",
  dbSchema: "transfers",
  outbox: true,
});

/** The database settings of an env, for work done outside a request (the saga objects). */
export function serviceSettings(env: object) {
  const parsed = config(env);
  return databaseSettings(parsed, parsed.DB);
}

const objects = defineConfig(
  z.object({
    TRANSFER_SAGA: bindingWith("idFromName", "get").transform((ns) => ns as unknown as Env["TRANSFER_SAGA"]),
  }),
);

/** The TransferSagaDO that hosts transfer `transferId`'s saga (where its request is submitted). */
export function sagaHostOf(env: object, transferId: string) {
  return flowStub(objects(env).TRANSFER_SAGA, transferId);
}

/** A transfer's saga, in the TransferSagaDO that hosts it. */
export function sagaOf(env: object, transferId: string) {
  return flowHandle(sagaHostOf(env, transferId), transferId);
}
