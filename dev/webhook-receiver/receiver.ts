/**
 * node dev/webhook-receiver/receiver.ts <secret> [port]
 *
 * A webhook endpoint for trying edgebank locally: prints every delivery it receives (event type,
 * id, subject) and whether its `Edgebank-Signature` verifies with `secret` (the one answered when
 * the endpoint was registered), then answers 204. It verifies exactly as a merchant's server
 * should: HMAC-SHA256 over `<t>.<raw body>`, compared in constant time, timestamp within 5 min.
 */
import { createServer } from "node:http";
import { SIGNATURE_HEADER, verifyWebhook } from "../../workers/notifications/src/webhooks/signature.ts";

const [secret, port = "9999"] = process.argv.slice(2);
if (!secret?.startsWith("whsec_")) {
  console.error("usage: node dev/webhook-receiver/receiver.ts <whsec_… secret> [port]");
  process.exit(2);
}

const server = createServer((request, response) => {
  let body = "";
  request.setEncoding("utf8");
  request.on("data", (chunk: string) => {
    body += chunk;
  });
  request.on("end", async () => {
    const header = request.headers[SIGNATURE_HEADER];
    const valid = await verifyWebhook(secret, typeof header === "string" ? header : undefined, body);
    let summary = body.slice(0, 120);
    try {
      const event = JSON.parse(body) as { type?: string; id?: string; subject?: string };
      summary = `${event.type} ${event.id} (${event.subject})`;
    } catch {
      // not JSON: print the start of the body
    }
    console.log(`${new Date().toISOString()} ${valid ? "signature valid  " : "SIGNATURE INVALID"} ${summary}`);
    response.writeHead(valid ? 204 : 400).end();
  });
});
server.listen(Number(port), "127.0.0.1", () => console.log(`webhook receiver on http://127.0.0.1:${port}/hooks`));
