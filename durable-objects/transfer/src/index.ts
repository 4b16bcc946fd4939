export {
  COMPENSATED_BY_OPERATOR,
  HOLD_TTL_MS,
  type StepOutcome,
  type TransferPorts,
  type TransferState,
  type TransferStep,
  type TransferSubject,
  transferFlow,
  transferSteps,
} from "./flow.ts";
