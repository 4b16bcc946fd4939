import { Buffer } from "node:buffer";
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/**
 * scrypt with OWASP's listed N=2^14, r=8, p=5 (16 MiB). Why not PBKDF2: production Workers
 * refuse more than 100,000 PBKDF2 iterations (OWASP asks 600,000 for SHA-256) while local
 * workerd accepts any count, so tests would not notice. Why not N=2^16 or 2^17: 64-128 MiB per
 * hash risks the 128 MB isolate limit under concurrent logins. The parameters are stored with
 * every hash; `needsRehash` upgrades old hashes at the next successful login.
 */
export const currentKdf = { kdf: "scrypt", N: 16_384, r: 8, p: 5, keyLength: 32 } as const;
type KdfParams = { kdf: "scrypt"; N: number; r: number; p: number; keyLength: number };

export interface PasswordHash {
  params: KdfParams;
  salt: string;
  hash: string;
}

function derive(password: string, salt: Buffer, params: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize("NFKC"),
      salt,
      params.keyLength,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

function parseParams(value: Record<string, unknown>): KdfParams {
  const { kdf, N, r, p, keyLength } = value;
  const ints = [N, r, p, keyLength].every((n) => Number.isSafeInteger(n) && (n as number) > 0);
  // Bounds stop a tampered row from asking for unbounded work.
  if (kdf !== "scrypt" || !ints || (N as number) > 2 ** 17 || (p as number) > 16 || (keyLength as number) > 64) {
    throw new Error("unsupported password hash parameters");
  }
  return { kdf, N: N as number, r: r as number, p: p as number, keyLength: keyLength as number };
}

export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, currentKdf);
  return { params: { ...currentKdf }, salt: salt.toString("base64"), hash: hash.toString("base64") };
}

export async function verifyPassword(
  password: string,
  stored: { params: Record<string, unknown>; salt: string; hash: string },
): Promise<boolean> {
  const params = parseParams(stored.params);
  const expected = Buffer.from(stored.hash, "base64");
  const actual = await derive(password, Buffer.from(stored.salt, "base64"), params);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Whether a stored hash is weaker than what new hashes get. */
export function needsRehash(params: Record<string, unknown>): boolean {
  return (
    params.kdf !== currentKdf.kdf || params.N !== currentKdf.N || params.r !== currentKdf.r || params.p !== currentKdf.p
  );
}

const dummy = hashPassword("not a real password, for equal timing only");

/**
 * The same work as a real verification, for a login whose email is unknown, so an attacker
 * cannot tell "no such user" from "wrong password" by the time the answer takes.
 */
export async function verifyAgainstNothing(password: string): Promise<false> {
  await verifyPassword(password, await dummy);
  return false;
}
