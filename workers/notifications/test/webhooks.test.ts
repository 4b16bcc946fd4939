import { env, exports } from "cloudflare:workers";
import { testCaller } from "@edgebank/auth/testing";
import { createLogger } from "@edgebank/http";
import { describe, expect, it } from "vitest";
import { queueDeliveries } from "../src/domain/notifications.ts";
import { endpointProblem } from "../src/services/webhooks.ts";
import { type DeliverySettings, deliverDue } from "../src/webhooks/delivery.ts";
import { SIGNATURE_HEADER, signWebhook, verifyWebhook } from "../src/webhooks/signature.ts";
import { inDatabase, sleep, transferEvent } from "./helpers.ts";

const call = (path: string, token: string, init: RequestInit = {}) => {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  if (init.body) headers.set("content-type", "application/json");
  return exports.default.fetch(new Request(`http://notifications.internal${path}`, { ...init, headers }));
};

const user = () => testCaller(env, "notifications:read notifications:write");

async function register(token: string, url = "https://hooks.example.test/edgebank") {
  const response = await call("/v1/webhooks", token, {
    method: "POST",
    body: JSON.stringify({ url, events: ["TransferCompleted", "TransferFailed"] }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; secret: string; status: string; url: string };
}

/** A receiver as a merchant would write one: verifies the signature over the raw body. */
function receiver(secret: string, answers: number[]) {
  const received: Array<{ verified: boolean; tamperedVerified: boolean; event: { id: string; type: string } }> = [];
  const fetcher = async (_url: RequestInfo | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const body = String(init?.body);
    received.push({
      verified: await verifyWebhook(secret, headers.get(SIGNATURE_HEADER), body),
      tamperedVerified: await verifyWebhook(
        secret,
        headers.get(SIGNATURE_HEADER),
        body.replace(/"amount":"\d+"/, '"amount":"999999"'),
      ),
      event: JSON.parse(body) as { id: string; type: string },
    });
    return new Response(null, { status: answers.shift() ?? 200 });
  };
  return { received, fetch: fetcher as typeof fetch };
}

const settings: DeliverySettings = {
  retrySeconds: [1, 1, 1, 1],
  disableAfter: 3,
  timeoutMs: 2_000,
  secretKey: env.WEBHOOK_SECRET_KEY,
};
const log = createLogger({ service: "notifications-test", version: "test" }, "error");

/** Sends what is due of this test's events (deliveries of other tests may be due too). */
function deliver(events: Array<{ id: string }>, fetcher: typeof fetch) {
  return inDatabase((db) => deliverDue(db, settings, log, { eventIds: events.map((e) => e.id), fetch: fetcher }));
}

describe("webhook signatures", () => {
  it("verify over timestamp and body; a tampered body, another secret or an old timestamp fail", async () => {
    const body = JSON.stringify({ id: "evt", amount: "100" });
    const now = Date.now();
    const header = await signWebhook("whsec_a", Math.floor(now / 1000), body);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(await verifyWebhook("whsec_a", header, body)).toBe(true);
    expect(await verifyWebhook("whsec_a", header, body.replace("100", "900"))).toBe(false);
    expect(await verifyWebhook("whsec_b", header, body)).toBe(false);
    expect(await verifyWebhook("whsec_a", header, body, { now: now + 10 * 60_000 })).toBe(false);
    expect(await verifyWebhook("whsec_a", "t=1,v1=zz", body)).toBe(false);
    expect(await verifyWebhook("whsec_a", null, body)).toBe(false);
  });
});

describe("webhook endpoints", () => {
  it("are registered with a secret shown once, listed to their owner only, and refused when unsafe", async () => {
    const owner = await user();
    const created = await register(owner.token);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const listed = (await (await call("/v1/webhooks", owner.token)).json()) as {
      items: Array<Record<string, unknown>>;
    };
    expect(listed.items).toEqual([expect.objectContaining({ id: created.id, status: "active" })]);
    expect(listed.items[0]).not.toHaveProperty("secret");
    const stranger = await user();
    expect((await call(`/v1/webhooks/${created.id}`, stranger.token)).status).toBe(404);
    expect((await call(`/v1/webhooks/${created.id}`, stranger.token, { method: "DELETE" })).status).toBe(404);

    const bad = await call("/v1/webhooks", owner.token, {
      method: "POST",
      body: JSON.stringify({ url: "https://hooks.example.test", events: ["AccountFrozen"] }),
    });
    expect(bad.status).toBe(400);
    expect(endpointProblem("http://hooks.example.test/x", false)).toBe("must be https");
    expect(endpointProblem("https://127.0.0.1/x", false)).toBe("must be a public host");
    expect(endpointProblem("https://10.1.2.3/x", false)).toBe("must be a public host");
    expect(endpointProblem("https://[::1]/x", false)).toBe("must be a public host");
    expect(endpointProblem("https://user:pw@hooks.example.test/x", false)).toBe("must not carry credentials");
    expect(endpointProblem("https://hooks.example.test/x", false)).toBeUndefined();
    expect(endpointProblem("http://127.0.0.1:9000/x", true)).toBeUndefined();

    expect((await call(`/v1/webhooks/${created.id}`, owner.token, { method: "DELETE" })).status).toBe(204);
    expect((await call(`/v1/webhooks/${created.id}`, owner.token)).status).toBe(404);
  });
});

describe("webhook deliveries", () => {
  it("are signed so the receiver verifies them, retried after a failure, and logged", async () => {
    const owner = await user();
    const endpoint = await register(owner.token);
    const event = transferEvent(owner.id);
    const events = [event];
    expect(await inDatabase((db) => db.transaction((tx) => queueDeliveries(tx, owner.id, event as never)))).toBe(1);

    const target = receiver(endpoint.secret, [503, 200]);
    await deliver(events, target.fetch);
    // Not yet due again (the pause after the first failure is 1 s).
    await deliver(events, target.fetch);
    expect(target.received).toHaveLength(1);
    await sleep(1_100);
    await deliver(events, target.fetch);
    expect(target.received.map((r) => [r.event.id, r.verified, r.tamperedVerified])).toEqual([
      [event.id, true, false],
      [event.id, true, false],
    ]);
    const log = (await (await call(`/v1/webhooks/${endpoint.id}/deliveries`, owner.token)).json()) as {
      items: Array<Record<string, unknown>>;
    };
    expect(log.items).toEqual([
      expect.objectContaining({ eventId: event.id, status: "delivered", attempts: 2, lastStatus: 200 }),
    ]);
  });

  it("disable an endpoint that keeps failing, abandon what was waiting, and notify its owner", async () => {
    const owner = await user();
    const endpoint = await register(owner.token);
    const events = [transferEvent(owner.id), transferEvent(owner.id)];
    await inDatabase((db) =>
      db.transaction(async (tx) => {
        for (const event of events) await queueDeliveries(tx, owner.id, event as never);
      }),
    );
    const target = receiver(endpoint.secret, [500, 500, 500, 500, 500, 500]);
    for (let round = 0; round < 3; round++) {
      await deliver(events, target.fetch);
      await sleep(1_100);
    }
    const status = (await (await call(`/v1/webhooks/${endpoint.id}`, owner.token)).json()) as {
      status: string;
      disabledReason: string;
    };
    expect(status.status).toBe("disabled");
    expect(status.disabledReason).toContain("3 delivery attempts in a row failed");
    const log = (await (await call(`/v1/webhooks/${endpoint.id}/deliveries`, owner.token)).json()) as {
      items: Array<{ status: string }>;
    };
    expect(log.items.map((d) => d.status).sort()).toEqual(["abandoned", "abandoned"]);
    const inbox = (await (await call("/v1/notifications", owner.token)).json()) as {
      items: Array<{ type: string; data: { webhookId: string } }>;
    };
    expect(inbox.items).toEqual([
      expect.objectContaining({ type: "WebhookDisabled", data: expect.objectContaining({ webhookId: endpoint.id }) }),
    ]);
    // Nothing more is sent to it; enabled again, new events are.
    const sent = target.received.length;
    await deliver(events, target.fetch);
    expect(target.received).toHaveLength(sent);
    const enabled = (await (
      await call(`/v1/webhooks/${endpoint.id}/enable`, owner.token, { method: "POST" })
    ).json()) as {
      status: string;
    };
    expect(enabled.status).toBe("active");
  });
});
