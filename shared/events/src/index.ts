export { type EventType, eventCatalog, isEventType } from "./catalog.ts";
export { eventsMarkdown } from "./docs.ts";
export {
  type CloudEvent,
  cloudEvent,
  type OutboxEvent,
  type ParsedEvent,
  parseEvent,
  toCloudEvent,
  topicOf,
} from "./envelope.ts";
