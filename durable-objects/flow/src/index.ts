export {
  FlowConflict,
  type FlowDefinition,
  type FlowFaults,
  type FlowHistoryEntry,
  FlowMachine,
  type FlowOptions,
  type FlowResult,
  type FlowState,
  type FlowStatus,
  type FlowStorage,
  type Json,
  type StepOutcome,
  type Transition,
} from "./machine.ts";
export {
  afterTransientFailure,
  MAX_ATTEMPTS_WHILE_COMPENSABLE,
  RETRY_AFTER_COMPENSABLE_FOR_MS,
  type RetryDecision,
} from "./retry-policy.ts";
export { FLOW_SHARDS, flowShard } from "./shard.ts";
