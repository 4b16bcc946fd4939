import { env, exports } from "cloudflare:workers";
import { testCaller } from "@edgebank/auth/testing";
import { describe, expect, it } from "vitest";
import { broker, deadLetterOf, transferEvent } from "./helpers.ts";

/**
 * Live notifications: a token buys a one-time ticket, the ticket opens a WebSocket held by the
 * user's stream object, and the service's own consumer sends each notification it recorded to
 * the open streams of its user (and of no one else).
 */
const call = (path: string, init: RequestInit = {}) =>
  exports.default.fetch(new Request(`http://notifications.internal${path}`, init));

async function ticketFor(token: string): Promise<{ ticket: string; url: string; expiresIn: number }> {
  const response = await call("/v1/notifications/live/tickets", {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(201);
  return response.json();
}

const upgrade = (ticket: string) =>
  call(`/v1/notifications/live?ticket=${encodeURIComponent(ticket)}`, { headers: { upgrade: "websocket" } });

/** Opens a stream and collects what it receives. */
async function open(token: string) {
  const { ticket } = await ticketFor(token);
  const response = await upgrade(ticket);
  expect(response.status).toBe(101);
  const socket = response.webSocket;
  if (!socket) throw new Error("no WebSocket in the answer");
  const messages: Array<{ type: string; notification?: { title: string; eventId: string } }> = [];
  socket.addEventListener("message", (event) => {
    const text = String(event.data);
    if (text.startsWith("{")) messages.push(JSON.parse(text));
  });
  socket.accept();
  return { socket, messages };
}

async function waitFor(condition: () => boolean, ms = 40_000) {
  for (const started = Date.now(); !condition(); ) {
    if (Date.now() - started > ms) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("live notifications", () => {
  it("sends a consumed event's notification to its user's open streams, and to no one else's", async () => {
    const payer = await testCaller(env, "notifications:read");
    const stranger = await testCaller(env, "notifications:read");
    const [first, second, other] = await Promise.all([open(payer.token), open(payer.token), open(stranger.token)]);
    await waitFor(() => [first, second, other].every((stream) => stream.messages.length === 1));
    expect(first.messages).toEqual([{ type: "ready" }]);

    const event = transferEvent(payer.id, { amount: "4200" });
    await broker().produce({ topic: "edgebank.transfers", key: event.subject, value: event });
    // The group reads the topic from its start: under a full run, other tests' events come first.
    await waitFor(() => first.messages.length > 1 && second.messages.length > 1);
    for (const stream of [first, second]) {
      expect(stream.messages[1]).toEqual({
        type: "notification",
        notification: expect.objectContaining({ title: "Transfer completed", eventId: event.id }),
      });
    }
    // The same in the inbox, under the same id.
    const inbox = await call("/v1/notifications", { headers: { authorization: `Bearer ${payer.token}` } });
    const { items } = (await inbox.json()) as { items: Array<{ id: string }> };
    const live = first.messages[1]?.notification as { id?: string } | undefined;
    expect(items.map((item) => item.id)).toEqual([live?.id]);
    expect(other.messages).toEqual([{ type: "ready" }]);
    for (const stream of [first, second, other]) stream.socket.close(1000, "done");
  });

  it("sends what a redriven dead letter became to its user's open streams", async () => {
    const payer = await testCaller(env, "notifications:read");
    const stream = await open(payer.token);
    const event = transferEvent(payer.id, { type: "TransferFailed", reason: "insufficient_funds" });
    const id = await deadLetterOf(event);
    const operator = await testCaller(env, "operator");
    const redriven = await call(`/v1/notifications/dead-letters/${id}/redrive`, {
      method: "POST",
      headers: { authorization: `Bearer ${operator.token}` },
    });
    expect(redriven.status).toBe(200);
    await waitFor(() => stream.messages.length > 1);
    expect(stream.messages[1]).toEqual({
      type: "notification",
      notification: expect.objectContaining({ title: "Transfer failed", eventId: event.id }),
    });
    stream.socket.close(1000, "done");
  });

  it("answers keep-alives", async () => {
    const user = await testCaller(env, "notifications:read");
    const stream = await open(user.token);
    const pong = new Promise((resolve) =>
      stream.socket.addEventListener("message", (event) => event.data === "pong" && resolve(event.data)),
    );
    stream.socket.send("ping");
    expect(await pong).toBe("pong");
    stream.socket.close(1000, "done");
  });

  it("opens a stream once per ticket; a forged, expired-format or missing ticket opens none", async () => {
    const user = await testCaller(env, "notifications:read");
    const { ticket, url, expiresIn } = await ticketFor(user.token);
    expect(expiresIn).toBe(30);
    expect(url).toBe(`${env.TOKEN_ISSUER.replace(/^http/, "ws")}/v1/notifications/live?ticket=${ticket}`);
    const opened = await upgrade(ticket);
    expect(opened.status).toBe(101);
    opened.webSocket?.accept();
    opened.webSocket?.close(1000, "done");

    const again = await upgrade(ticket);
    expect(again.status).toBe(401);
    expect(await again.json()).toMatchObject({ code: "unauthorized" });

    const [objectId] = ticket.split(".");
    const forged = await upgrade(`${objectId}.${"A".repeat(43)}`);
    expect(forged.status).toBe(401);
    // Another user's object with this user's secret: the secret is the object's own.
    const { ticket: other } = await ticketFor(user.token);
    const strangerObject = env.NOTIFICATION_STREAM.idFromName("usr_someone_else").toString();
    expect((await upgrade(`${strangerObject}.${other.split(".")[1]}`)).status).toBe(401);
    expect((await upgrade("not-a-ticket")).status).toBe(401);
    expect((await upgrade(`${"f".repeat(64)}.${"A".repeat(43)}`)).status).toBe(401);

    const plain = await call(`/v1/notifications/live?ticket=${ticket}`);
    expect(plain.status).toBe(426);
    expect(plain.headers.get("upgrade")).toBe("websocket");
    expect(await plain.json()).toMatchObject({ code: "upgrade_required" });
  });

  it("gives tickets only for a valid token that may read notifications", async () => {
    const noToken = await call("/v1/notifications/live/tickets", { method: "POST" });
    expect(noToken.status).toBe(401);
    const wrongScope = await testCaller(env, "accounts:read");
    const refused = await call("/v1/notifications/live/tickets", {
      method: "POST",
      headers: { authorization: `Bearer ${wrongScope.token}` },
    });
    expect(refused.status).toBe(403);
  });
});
