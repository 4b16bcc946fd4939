import { defineConfig } from "@edgebank/config";
import { z } from "zod";
import { KafkaRestClient } from "./client.ts";

/**
 * Where a service's Kafka is: a Kafka REST endpoint (Confluent Cloud: v3 with the cluster id
 * and an API key as KAFKA_REST_USERNAME/KAFKA_REST_PASSWORD secrets; Confluent REST Proxy or
 * Redpanda HTTP Proxy: v2). Locally, `npm run dev` and the tests point it at the development broker.
 */
export const kafkaConfig = defineConfig(
  z.object({
    KAFKA_REST_URL: z.url(),
    KAFKA_PRODUCE_API: z.enum(["v3", "v2"]).default("v3"),
    KAFKA_CLUSTER_ID: z.string().min(1).optional(),
    KAFKA_REST_USERNAME: z.string().min(1).optional(),
    KAFKA_REST_PASSWORD: z.string().min(1).optional(),
  }),
);

const clients = new Map<string, KafkaRestClient>();

/**
 * One client per endpoint per isolate, so its circuit breaker remembers a broker that is down.
 * (The client holds no in-flight promise between calls, so requests may share it.)
 */
export function kafkaClient(env: object): KafkaRestClient {
  const config = kafkaConfig(env);
  const key = `${config.KAFKA_PRODUCE_API} ${config.KAFKA_REST_URL} ${config.KAFKA_CLUSTER_ID ?? ""}`;
  let client = clients.get(key);
  if (!client) {
    client = new KafkaRestClient({
      url: config.KAFKA_REST_URL,
      produceApi: config.KAFKA_PRODUCE_API,
      ...(config.KAFKA_CLUSTER_ID ? { clusterId: config.KAFKA_CLUSTER_ID } : {}),
      ...(config.KAFKA_REST_USERNAME ? { username: config.KAFKA_REST_USERNAME } : {}),
      ...(config.KAFKA_REST_PASSWORD ? { password: config.KAFKA_REST_PASSWORD } : {}),
    });
    clients.set(key, client);
  }
  return client;
}
