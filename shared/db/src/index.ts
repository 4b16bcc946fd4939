export {
  type Database,
  type DatabaseHandle,
  openDatabase,
  resultRows,
  type Transaction,
  type TransactionOptions,
  withDatabase,
  withTransaction,
} from "./client.ts";
export { databaseError, isDatabaseUnavailable } from "./errors.ts";
export { checkDatabase } from "./health.ts";
export { KeptDatabase } from "./kept.ts";
export { type DatabaseVariables, databaseMiddleware } from "./middleware.ts";
export {
  type DatabaseSettings,
  type DbDriver,
  databaseSettings,
  databaseVars,
  dbDrivers,
  hyperdriveBinding,
} from "./settings.ts";
