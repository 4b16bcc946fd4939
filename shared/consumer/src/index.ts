export {
  applyEvent,
  type BatchOutcome,
  type ConsumerMemory,
  type ConsumerSpec,
  consumeBatch,
  consumerLag,
  deadLetterTopic,
  type KnownEvent,
  redriveDeadLetter,
} from "./consume.ts";
