export { type EventData, type EventType, eventCatalog, isEventType } from "./catalog.ts";
export { eventsMarkdown } from "./docs.ts";
export {
  type CloudEvent,
  cloudEvent,
  expectEvent,
  isEventOf,
  type OutboxEvent,
  type ParsedEvent,
  parseEvent,
  type TypedEvent,
  toCloudEvent,
  topicOf,
} from "./envelope.ts";
