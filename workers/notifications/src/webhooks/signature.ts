/**
 * Webhook signatures: HMAC-SHA256, keyed with the endpoint's secret, over `<timestamp>.<body>`,
 * sent as `Edgebank-Signature: t=<unix seconds>,v1=<hex>` (several `v1=` during a secret
 * rotation). A receiver recomputes it over the raw body it received, compares in constant time,
 * and refuses a timestamp outside its tolerance (a replayed delivery). Only Web Crypto: the same
 * code signs in the Worker and verifies in a receiver on Node.
 */
export const SIGNATURE_HEADER = "edgebank-signature";

const encoder = new TextEncoder();

function hmacKey(secret: string, usage: "sign" | "verify") {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

const toHex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

function fromHex(hex: string): Uint8Array | undefined {
  if (!/^(?:[0-9a-f]{2})+$/.test(hex)) return undefined;
  return new Uint8Array(hex.match(/../g)?.map((pair) => Number.parseInt(pair, 16)) ?? []);
}

/** The header value for `body` sent at `timestamp` (unix seconds). */
export async function signWebhook(secret: string, timestamp: number, body: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret, "sign"), encoder.encode(`${timestamp}.${body}`));
  return `t=${timestamp},v1=${toHex(mac)}`;
}

/**
 * Whether `header` signs `body` with `secret`, at a time within `toleranceSeconds` of `now`.
 * `crypto.subtle.verify` compares the MACs in constant time.
 */
export async function verifyWebhook(
  secret: string,
  header: string | null | undefined,
  body: string,
  options: { toleranceSeconds?: number; now?: number } = {},
): Promise<boolean> {
  if (!header) return false;
  const parts = header.split(",").map((part) => part.trim().split("="));
  const timestamp = Number(parts.find(([name]) => name === "t")?.[1]);
  if (!Number.isSafeInteger(timestamp)) return false;
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const key = await hmacKey(secret, "verify");
  const signed = encoder.encode(`${timestamp}.${body}`);
  for (const [name, value] of parts) {
    if (name !== "v1" || !value) continue;
    const mac = fromHex(value);
    if (mac && mac.length === 32 && (await crypto.subtle.verify("HMAC", key, mac, signed))) return true;
  }
  return false;
}
