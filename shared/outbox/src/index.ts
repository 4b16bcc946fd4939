export { kafkaPublisher, outboxBacklog, type Publisher, type RelayResult, relayOutbox } from "./relay.ts";
export { drainOutbox, kafkaClient, kafkaConfig, relayServiceOutbox } from "./runner.ts";
export { outboxTable } from "./table.ts";
