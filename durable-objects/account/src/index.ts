export {
  AccountCore,
  type AccountStore,
  type CommitBatch,
  type DecidedOperation,
  type KnownOperation,
  OperationAlreadyRecorded,
} from "./core.ts";
export {
  type AccountState,
  apply,
  available,
  fingerprint,
  type Hold,
  type Operation,
  type OperationResult,
  type RefusalReason,
} from "./operations.ts";
