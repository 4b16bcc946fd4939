import { env } from "cloudflare:workers";
import type { Database } from "@edgebank/db";
import { withDatabase } from "@edgebank/db";
import { type CloudEvent, toCloudEvent } from "@edgebank/events";
import { newId, newUuidV7 } from "@edgebank/ids";
import { KafkaRestClient } from "@edgebank/kafka";
import { sql } from "drizzle-orm";

/** The notifications database, as the service sees it. */
export const settings = () => ({
  driver: "hyperdrive" as const,
  connectionString: env.NOTIFICATIONS_DB.connectionString,
  prepare: env.DB_PREPARE === "true",
});

export const inDatabase = <T>(work: (db: Database) => Promise<T>) => withDatabase(settings(), work);

/** The test setup's broker, through the project's client. */
export const broker = () => new KafkaRestClient({ url: env.KAFKA_REST_URL, produceApi: "v2" });

/** A TransferCompleted (or Failed) event of a customer's transfer, as the transfers service publishes it. */
export function transferEvent(
  payer: string,
  options: { type?: "TransferCompleted" | "TransferFailed"; amount?: string; reason?: string } = {},
): CloudEvent {
  const transferId = newId("transfer");
  return toCloudEvent({
    id: newUuidV7(),
    aggregateId: transferId,
    type: options.type ?? "TransferCompleted",
    createdAt: new Date(),
    payload: {
      transferId,
      fromAccountId: newId("account"),
      toAccountId: newId("account"),
      amount: options.amount ?? "1250",
      currency: "EUR",
      status: options.type === "TransferFailed" ? "FAILED" : "COMPLETED",
      kind: "transfer",
      requestedBy: payer,
      ...(options.reason ? { reason: options.reason } : {}),
    },
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the service's consumer leaves behind when its handler keeps failing on `event`: a dead letter; its id. */
export async function deadLetterOf(event: CloudEvent, error = "handler bug"): Promise<string> {
  const id = newId("deadLetter");
  await inDatabase((db) =>
    db.execute(sql`insert into notifications.dead_letters
      (id, consumer, topic, partition, "offset", event_id, type, key, value, error, attempts)
      values (${id}, 'notifications', 'edgebank.transfers', 0, ${Date.now()}, ${event.id}, ${event.type},
              ${JSON.stringify(event.subject)}::jsonb, ${JSON.stringify(event)}::jsonb, ${error}, 5)`),
  );
  return id;
}
