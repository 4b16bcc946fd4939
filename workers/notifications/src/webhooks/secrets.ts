import { Buffer } from "node:buffer";

/**
 * Endpoint signing secrets: made here (`whsec_` + 32 random bytes), shown to their owner once,
 * and kept sealed with AES-256-GCM under WEBHOOK_SECRET_KEY, the endpoint id as associated data
 * (a sealed secret moved to another endpoint does not open).
 */
const imported = new Map<string, Promise<CryptoKey>>();

function sealingKey(base64url: string): Promise<CryptoKey> {
  let key = imported.get(base64url);
  if (!key) {
    const raw = Buffer.from(base64url, "base64url");
    if (raw.length !== 32) return Promise.reject(new Error("WEBHOOK_SECRET_KEY must be 32 bytes (base64url)"));
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    imported.set(base64url, key);
  }
  return key;
}

export function newWebhookSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
}

export async function sealSecret(keyText: string, webhookId: string, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(webhookId) },
    await sealingKey(keyText),
    new TextEncoder().encode(secret),
  );
  return Buffer.concat([iv, new Uint8Array(sealed)]).toString("base64url");
}

export async function openSecret(keyText: string, webhookId: string, sealed: string): Promise<string> {
  const bytes = Buffer.from(sealed, "base64url");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.subarray(0, 12), additionalData: new TextEncoder().encode(webhookId) },
    await sealingKey(keyText),
    bytes.subarray(12),
  );
  return new TextDecoder().decode(plain);
}
