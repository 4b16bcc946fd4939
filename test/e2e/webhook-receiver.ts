import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SIGNATURE_HEADER, verifyWebhook } from "../../workers/notifications/src/webhooks/signature.ts";

export interface Delivery {
  type: string;
  subject: string | undefined;
  /** Whether its signature verified with the endpoint's secret over the raw body. */
  verified: boolean;
}

/**
 * A webhook endpoint for the e2e tests: records every delivery and whether its signature
 * verifies, as a merchant's server would. `secret` is set once the endpoint is registered.
 */
export async function startWebhookReceiver() {
  const deliveries: Delivery[] = [];
  const state = { secret: "" };
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      body += chunk;
    });
    request.on("end", async () => {
      const header = request.headers[SIGNATURE_HEADER];
      const event = JSON.parse(body) as { type: string; subject?: string };
      deliveries.push({
        type: event.type,
        subject: event.subject,
        verified: await verifyWebhook(state.secret, typeof header === "string" ? header : undefined, body),
      });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/edgebank`,
    deliveries,
    set secret(value: string) {
      state.secret = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
