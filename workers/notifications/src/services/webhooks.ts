import type { Database } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { newId } from "@edgebank/ids";
import { findOwnedWebhook, insertWebhook, type WebhookRow } from "../repo/webhooks.ts";
import { notificationSettings } from "../service.ts";
import { newWebhookSecret, sealSecret } from "../webhooks/secrets.ts";

/** Hosts a production endpoint may not name: loopback, private, link-local, unique-local. */
const privateHost =
  /^(localhost|.*\.localhost|.*\.internal|127\.\d+\.\d+\.\d+|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|172\.(1[6-9]|2\d|3[01])\.\d+\.\d+|169\.254\.\d+\.\d+|0\.0\.0\.0|\[(::1?|f[cd][0-9a-f:]*|fe80:[0-9a-f:]*)\])$/i;

/** Why `text` cannot be a webhook endpoint, or undefined when it can. */
export function endpointProblem(text: string, allowInsecure: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "not a URL";
  }
  if (url.username || url.password) return "must not carry credentials";
  if (url.hash) return "must not have a fragment";
  if (allowInsecure) return url.protocol === "https:" || url.protocol === "http:" ? undefined : "must be http(s)";
  if (url.protocol !== "https:") return "must be https";
  if (privateHost.test(url.hostname)) return "must be a public host";
  return undefined;
}

/** Registers an endpoint for its owner; the signing secret is returned this once and stored sealed. */
export async function createWebhook(
  ctx: { db: Database; env: object; ownerId: string },
  input: { url: string; events: readonly string[] },
): Promise<{ row: WebhookRow; secret: string }> {
  const settings = notificationSettings(ctx.env);
  const problem = endpointProblem(input.url, settings.WEBHOOK_ALLOW_INSECURE);
  if (problem) {
    throw new AppError("validation_failed", `url ${problem}.`, {
      extensions: { errors: [{ location: "body", path: "url", message: problem }] },
    });
  }
  const id = newId("webhook");
  const secret = newWebhookSecret();
  const row = await insertWebhook(ctx.db, {
    id,
    ownerId: ctx.ownerId,
    url: input.url,
    events: [...new Set(input.events)],
    sealedSecret: await sealSecret(settings.WEBHOOK_SECRET_KEY, id, secret),
  });
  return { row, secret };
}

/** The owner's endpoint (not deleted); a stranger's is a 404. */
export async function ownedWebhook(db: Database, ownerId: string, id: string): Promise<WebhookRow> {
  const row = await findOwnedWebhook(db, ownerId, id);
  if (!row) throw new AppError("not_found", "Webhook does not exist.");
  return row;
}
