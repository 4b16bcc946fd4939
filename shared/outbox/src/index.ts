export { kafkaPublisher, outboxBacklog, type Publisher, type RelayResult, relayOutbox } from "./relay.ts";
export { drainOutbox, relayConfig, relayServiceOutbox } from "./runner.ts";
export { outboxTable } from "./table.ts";
