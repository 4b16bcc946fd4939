import { createServiceApp } from "@edgebank/service";
import { registerAccountRoutes } from "./routes/accounts.ts";

/**
 * The accounts service: accounts, their owners and balances. Debits, credits and holds arrive
 * with the AccountDO, the single writer of each account.
 */
const { app } = createServiceApp({ name: "accounts", dbBinding: "ACCOUNTS_DB", dbSchema: "accounts" });
registerAccountRoutes(app);

export default app;
