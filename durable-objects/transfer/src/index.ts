export type { StepOutcome } from "@edgebank/durable-objects/flow";
export {
  COMPENSATED_BY_OPERATOR,
  HOLD_TTL_MS,
  type TransferPorts,
  type TransferState,
  type TransferStep,
  type TransferSubject,
  transferFlow,
  transferSteps,
} from "./flow.ts";
