export {
  type ConsumedRecord,
  type ConsumerInstance,
  type Delivery,
  KafkaRestClient,
  type KafkaRestConfig,
  KafkaRestError,
  type OutgoingRecord,
} from "./client.ts";
export { murmur2, partitionForKey } from "./partitioner.ts";
