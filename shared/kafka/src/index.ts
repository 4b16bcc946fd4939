export {
  type ConsumedRecord,
  type ConsumerInstance,
  type Delivery,
  KafkaRestClient,
  type KafkaRestConfig,
  KafkaRestError,
  type OutgoingRecord,
} from "./client.ts";
export { kafkaClient, kafkaConfig } from "./env.ts";
export { murmur2, partitionForKey } from "./partitioner.ts";
