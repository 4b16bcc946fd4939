export { kafkaPublisher, outboxBacklog, type Publisher, type RelayResult, relayOutbox } from "./relay.ts";
export { drainOutbox, relayConfig, relayServiceOutbox, serviceOutboxRelay } from "./runner.ts";
export { outboxTable } from "./table.ts";
