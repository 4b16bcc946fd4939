import { type Database, resultRows } from "@edgebank/db";
import type { Logger } from "@edgebank/http";
import { newId } from "@edgebank/ids";
import { and, eq, sql } from "drizzle-orm";
import { notifications, webhookDeliveries, webhooks } from "../db/schema.ts";
import { openSecret } from "./secrets.ts";
import { SIGNATURE_HEADER, signWebhook } from "./signature.ts";

export interface DeliverySettings {
  retrySeconds: readonly number[];
  disableAfter: number;
  timeoutMs: number;
  secretKey: string;
}

export interface DeliveryRun {
  attempted: number;
  delivered: number;
  failed: number;
  disabled: number;
}

interface DueRow {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  attempts: number;
  url: string;
  sealed_secret: string;
  owner_id: string;
  webhook_status: string;
  deleted: boolean;
}

/** How long a claimed delivery stays claimed: longer than one attempt, short enough to retry soon. */
const LEASE_SECONDS = 120;

/**
 * Sends the deliveries that are due (of `eventIds`, or all), at most `limit`: claims them (a lease: `next_attempt_at`
 * moves forward, so another sender skips them, and a sender that dies leaves them due again),
 * POSTs each signed, then records the outcome: delivered; or retried after the next pause of
 * the schedule; or failed when the schedule ran out. Each failed attempt counts against the
 * endpoint; after `disableAfter` in a row it is disabled, its pending deliveries abandoned, and
 * its owner notified. A success resets the count.
 */
export async function deliverDue(
  db: Database,
  settings: DeliverySettings,
  log: Logger,
  options: {
    limit?: number;
    /** Only the deliveries of these events (right after a batch applied them); unset: every due one. */
    eventIds?: readonly string[];
    fetch?: typeof fetch;
  } = {},
): Promise<DeliveryRun> {
  const only = options.eventIds;
  if (only && only.length === 0) return { attempted: 0, delivered: 0, failed: 0, disabled: 0 };
  const run: DeliveryRun = { attempted: 0, delivered: 0, failed: 0, disabled: 0 };
  const events = only ? sql`and event_id in ${only}` : sql``;
  const due = resultRows<DueRow>(
    await db.execute(sql`
      with claimed as (
        update ${webhookDeliveries} d
           set next_attempt_at = now() + make_interval(secs => ${LEASE_SECONDS})
         where d.id in (select id from ${webhookDeliveries}
                         where status = 'pending' and next_attempt_at <= now() ${events}
                         order by next_attempt_at
                         limit ${options.limit ?? 50}
                         for update skip locked)
        returning d.id, d.webhook_id, d.event_id, d.event_type, d.payload, d.attempts
      )
      select c.*, w.url, w.sealed_secret, w.owner_id, w.status as webhook_status,
             (w.deleted_at is not null) as deleted
        from claimed c join ${webhooks} w on w.id = c.webhook_id
       order by c.id`),
  );
  const send = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  for (const row of due) {
    if (row.webhook_status !== "active" || row.deleted) {
      await db
        .update(webhookDeliveries)
        .set({ status: "abandoned", lastError: "endpoint disabled or deleted" })
        .where(eq(webhookDeliveries.id, row.id));
      continue;
    }
    run.attempted += 1;
    const attempts = row.attempts + 1;
    const body = JSON.stringify(row.payload);
    let status: number | null = null;
    let error: string | null = null;
    try {
      const secret = await openSecret(settings.secretKey, row.webhook_id, row.sealed_secret);
      const response = await send(row.url, {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.timeout(settings.timeoutMs),
        headers: {
          "content-type": "application/json",
          "user-agent": "edgebank-webhooks/1",
          "edgebank-event-id": row.event_id,
          "edgebank-event-type": row.event_type,
          "edgebank-delivery-id": row.id,
          [SIGNATURE_HEADER]: await signWebhook(secret, Math.floor(Date.now() / 1000), body),
        },
        body,
      });
      status = response.status;
      await response.body?.cancel();
      if (status < 200 || status > 299) error = `answered ${status}`;
    } catch (failure) {
      error = failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure);
    }

    if (error === null) {
      run.delivered += 1;
      await db.transaction(async (tx) => {
        await tx
          .update(webhookDeliveries)
          .set({ status: "delivered", attempts, lastStatus: status, lastError: null, deliveredAt: new Date() })
          .where(eq(webhookDeliveries.id, row.id));
        await tx
          .update(webhooks)
          .set({ consecutiveFailures: 0, updatedAt: new Date() })
          .where(eq(webhooks.id, row.webhook_id));
      });
      continue;
    }

    run.failed += 1;
    const pause = settings.retrySeconds[attempts - 1];
    log.warn("webhook delivery failed", {
      deliveryId: row.id,
      webhookId: row.webhook_id,
      attempts,
      status,
      error,
      retryInSeconds: pause ?? null,
    });
    const disabled = await db.transaction(async (tx) => {
      await tx
        .update(webhookDeliveries)
        .set({
          attempts,
          lastStatus: status,
          lastError: error,
          ...(pause === undefined
            ? { status: "failed" as const }
            : { nextAttemptAt: sql`now() + make_interval(secs => ${pause})` }),
        })
        .where(eq(webhookDeliveries.id, row.id));
      const [endpoint] = await tx
        .update(webhooks)
        .set({ consecutiveFailures: sql`${webhooks.consecutiveFailures} + 1`, updatedAt: new Date() })
        .where(eq(webhooks.id, row.webhook_id))
        .returning({ failures: webhooks.consecutiveFailures, status: webhooks.status });
      if (endpoint?.status !== "active" || endpoint.failures < settings.disableAfter) return false;
      const reason = `${endpoint.failures} delivery attempts in a row failed (last: ${error})`;
      await tx
        .update(webhooks)
        .set({ status: "disabled", disabledReason: reason, updatedAt: new Date() })
        .where(eq(webhooks.id, row.webhook_id));
      await tx
        .update(webhookDeliveries)
        .set({ status: "abandoned", lastError: "endpoint disabled" })
        .where(and(eq(webhookDeliveries.webhookId, row.webhook_id), eq(webhookDeliveries.status, "pending")));
      await tx.insert(notifications).values({
        id: newId("notification"),
        userId: row.owner_id,
        // One "disabled" notification per endpoint and disablement.
        eventId: `webhook-disabled:${row.webhook_id}:${Date.now()}`,
        type: "WebhookDisabled",
        title: "Webhook endpoint disabled",
        body: `Deliveries to ${row.url} kept failing, so the endpoint was disabled: ${reason}. Fix it, then enable it again.`,
        data: { webhookId: row.webhook_id, url: row.url, reason },
      });
      return true;
    });
    if (disabled) {
      run.disabled += 1;
      log.error("webhook endpoint disabled", { webhookId: row.webhook_id, ownerId: row.owner_id, error });
    }
  }
  return run;
}
