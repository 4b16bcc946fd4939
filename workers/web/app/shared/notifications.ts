/**
 * The notifications panel: the inbox's latest, then each new one as it happens over the live
 * stream (a WebSocket opened with a one-time ticket, since a browser cannot put a bearer token on
 * a WebSocket). A stream that drops is opened again with a growing pause, and the inbox read
 * again, so nothing that happened meanwhile is missed.
 */
import { type EdgebankClient, type Schemas, unwrap } from "@edgebank/client";
import { announce, h, when } from "./dom.ts";

type Notification = Schemas["Notification"];

export function notificationsPanel(
  api: EdgebankClient,
  aside: HTMLElement,
  onNotification: (notification: Notification) => void,
): void {
  const list = h("ul", { id: "notification-list" });
  const news = h("p", { id: "notification-news", role: "status", class: "muted" });
  const state = h("p", { class: "muted", id: "stream-state" }, "Connecting…");
  aside.replaceChildren(h("h2", { id: "notifications-title" }, "Notifications"), state, news, list);
  aside.hidden = false;
  const shown = new Set<string>();

  const item = (notification: Notification) => {
    const read = h("button", { type: "button" }, "Mark read");
    const entry = h(
      "li",
      { class: notification.readAt ? "" : "unread", "data-id": notification.id },
      h("strong", {}, notification.title),
      h("p", {}, notification.body),
      h("p", { class: "muted" }, when(notification.createdAt)),
    );
    if (!notification.readAt) {
      read.setAttribute("aria-label", `Mark read: ${notification.title}`);
      read.addEventListener("click", async () => {
        await unwrap(api.POST("/v1/notifications/{id}/read", { params: { path: { id: notification.id } } }));
        entry.classList.remove("unread");
        read.remove();
      });
      entry.append(read);
    }
    return entry;
  };
  /** Puts a notification on top of the list, once. */
  const add = (notification: Notification) => {
    if (shown.has(notification.id)) return;
    shown.add(notification.id);
    list.prepend(item(notification));
  };

  const catchUp = async () => {
    const { items } = await unwrap(api.GET("/v1/notifications", { params: { query: { limit: 10 } } }));
    // Oldest of the page first, so each lands on top as it would have live.
    for (const notification of [...items].reverse()) add(notification);
  };

  let failures = 0;
  const connect = async () => {
    try {
      await catchUp();
      const { ticket } = await unwrap(api.POST("/v1/notifications/live/tickets"));
      const url = `${location.origin.replace(/^http/, "ws")}/v1/notifications/live?ticket=${encodeURIComponent(ticket)}`;
      const socket = new WebSocket(url);
      const keepAlive = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send("ping"), 30_000);
      socket.addEventListener("message", (event) => {
        if (typeof event.data !== "string" || !event.data.startsWith("{")) return;
        const message = JSON.parse(event.data) as { type: string; notification?: Notification };
        if (message.type === "ready") {
          failures = 0;
          state.textContent = "Live";
        }
        if (message.type === "notification" && message.notification) {
          add(message.notification);
          announce(news, `New: ${message.notification.title}`);
          onNotification(message.notification);
        }
      });
      socket.addEventListener("close", () => {
        clearInterval(keepAlive);
        retry();
      });
    } catch {
      retry();
    }
  };
  const retry = () => {
    failures += 1;
    state.textContent = "Reconnecting…";
    setTimeout(() => void connect(), Math.min(30_000, 1_000 * 2 ** Math.min(failures, 5)));
  };
  void connect();
}
