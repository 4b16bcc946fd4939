/**
 * The ledger's tamper evidence, as pure functions: the canonical content of an entry, the hash
 * chain over entries, and the signature of a checkpoint (a chain head signed with a key that
 * only the ledger worker holds).
 */

/** The previous hash of the first entry. */
export const GENESIS_HASH = "0".repeat(64);

export interface ChainedPosting {
  leg: number;
  accountId: string;
  /** Signed minor units: negative leaves the account, positive enters it. */
  amount: bigint;
  currency: string;
}

export interface ChainedEntry {
  sequence: bigint;
  id: string;
  transferId: string;
  description: string;
  recordedAt: Date;
  postings: ChainedPosting[];
}

/**
 * The bytes an entry's hash covers: a JSON array with a fixed field order, legs in leg order,
 * amounts as decimal strings and the time in milliseconds (what the database stores), so the
 * same entry read back always encodes the same way.
 */
export function canonicalContent(entry: ChainedEntry): string {
  const legs = [...entry.postings]
    .sort((a, b) => a.leg - b.leg)
    .map((p) => [p.leg, p.accountId, p.amount.toString(), p.currency]);
  return JSON.stringify([
    "edgebank.ledger.entry.v1",
    entry.sequence.toString(),
    entry.id,
    entry.transferId,
    entry.recordedAt.toISOString(),
    entry.description,
    legs,
  ]);
}

/** SHA-256 (hex) over the previous entry's hash and this entry's canonical content. */
export async function entryHash(previousHash: string, entry: ChainedEntry): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(`${previousHash}\n${canonicalContent(entry)}`)));
}

/** The checkpoint key: HMAC-SHA-256 from a 32-byte secret (base64url), named by its own hash. */
export interface CheckpointKey {
  id: string;
  key: CryptoKey;
}

export async function importCheckpointKey(secret: string): Promise<CheckpointKey> {
  const raw = base64urlDecode(secret);
  if (raw.byteLength < 32) throw new Error("the checkpoint key must be at least 32 bytes (base64url)");
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  const id = hex(await crypto.subtle.digest("SHA-256", raw)).slice(0, 16);
  return { id, key };
}

function checkpointMessage(sequence: bigint, hash: string): Uint8Array {
  return encoder.encode(`edgebank.ledger.checkpoint.v1\n${sequence}\n${hash}`);
}

export async function signCheckpoint(key: CheckpointKey, sequence: bigint, hash: string): Promise<string> {
  return hex(await crypto.subtle.sign("HMAC", key.key, checkpointMessage(sequence, hash)));
}

export async function checkpointSignatureValid(
  key: CheckpointKey,
  checkpoint: { sequence: bigint; hash: string; signature: string },
): Promise<boolean> {
  const signature = hexDecode(checkpoint.signature);
  if (!signature) return false;
  return crypto.subtle.verify("HMAC", key.key, signature, checkpointMessage(checkpoint.sequence, checkpoint.hash));
}

const encoder = new TextEncoder();

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function hexDecode(value: string): Uint8Array | undefined {
  if (!/^([0-9a-f]{2})+$/.test(value)) return undefined;
  return Uint8Array.from(value.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

function base64urlDecode(value: string): Uint8Array {
  const base64 = value.replaceAll("-", "+").replaceAll("_", "/");
  return Uint8Array.from(atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}
