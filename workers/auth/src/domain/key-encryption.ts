import { Buffer } from "node:buffer";

/**
 * AES-256-GCM encryption of private signing keys at rest, with the key-encryption key from
 * the SIGNING_KEY_KEK secret. The key id is the additional authenticated data, so an
 * encrypted key cannot be moved to another row unnoticed.
 */
const imported = new Map<string, Promise<CryptoKey>>();

/** The KEK as a non-extractable CryptoKey, imported once per isolate. */
export function importKek(base64url: string): Promise<CryptoKey> {
  let key = imported.get(base64url);
  if (!key) {
    const raw = Buffer.from(base64url, "base64url");
    if (raw.length !== 32) return Promise.reject(new Error("SIGNING_KEY_KEK must be 32 bytes"));
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    imported.set(base64url, key);
  }
  return key;
}

export async function encryptPrivateKey(kek: CryptoKey, kid: string, privateJwk: JsonWebKey): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plaintext = new TextEncoder().encode(JSON.stringify(privateJwk));
  const additionalData = new TextEncoder().encode(kid);
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, kek, plaintext),
  );
  return Buffer.concat([iv, ciphertext]).toString("base64url");
}

export async function decryptPrivateKey(kek: CryptoKey, kid: string, sealed: string): Promise<JsonWebKey> {
  const bytes = Buffer.from(sealed, "base64url");
  const iv = bytes.subarray(0, 12);
  const ciphertext = bytes.subarray(12);
  const additionalData = new TextEncoder().encode(kid);
  const plaintext = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData }, kek, ciphertext);
  return JSON.parse(new TextDecoder().decode(plaintext)) as JsonWebKey;
}
