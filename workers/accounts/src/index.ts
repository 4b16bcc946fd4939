import { registerAccountRoutes } from "./routes/accounts.ts";
import { registerInternalRoutes } from "./routes/internal.ts";
import { registerOperatorRoutes } from "./routes/operator.ts";
import { app } from "./service.ts";

/**
 * The accounts service: accounts, their owners and balances, and the AccountDO, the single
 * writer of each account's money.
 */
registerAccountRoutes(app);
registerOperatorRoutes(app);
registerInternalRoutes(app);

export { AccountDO } from "./account-do.ts";
export default app;
