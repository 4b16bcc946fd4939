import { bindingWith, defineConfig } from "@edgebank/config";
import { createServiceApp } from "@edgebank/service";
import { z } from "zod";

/** The accounts service skeleton: shared middleware, its database, health and readiness. */
export const { app, config } = createServiceApp({ name: "accounts", dbBinding: "ACCOUNTS_DB", dbSchema: "accounts" });

/** The AccountDO namespace, validated once like every binding. */
const objects = defineConfig(
  z.object({ ACCOUNT: bindingWith("idFromName", "get").transform((ns) => ns as unknown as Env["ACCOUNT"]) }),
);

export function accountObjects(env: object): Env["ACCOUNT"] {
  return objects(env).ACCOUNT;
}
