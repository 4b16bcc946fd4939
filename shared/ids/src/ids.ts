import { decode128, encode128 } from "./base32.ts";
import { createUuidV7Generator, formatUuid, uuidV7Timestamp } from "./uuidv7.ts";

/**
 * Prefixes of the platform's public ids, one per kind of resource. The prefix tells a reader
 * (and a validator) what an id names: `acc_…` can never be passed where `trf_…` is expected.
 */
export const idPrefixes = {
  account: "acc",
  operation: "op",
  hold: "hold",
  transfer: "trf",
  payment: "pay",
  refund: "ref",
  ledgerEntry: "led",
  user: "usr",
  client: "cli",
  order: "ord",
  product: "prd",
  reservation: "rsv",
  notification: "ntf",
  webhook: "whk",
  event: "evt",
  request: "req",
  signingKey: "key",
  refreshToken: "rt",
  tokenFamily: "rtf",
  audit: "aud",
  transferAction: "tra",
  paymentAction: "pya",
  reconciliation: "rec",
  deadLetter: "dlq",
  webhookDelivery: "whd",
  merchant: "mer",
  restock: "rst",
  rollout: "rol",
} as const;

export type IdKind = keyof typeof idPrefixes;
export type IdPrefix<K extends IdKind> = (typeof idPrefixes)[K];
/** A public id of one kind: `<prefix>_<26 base32 chars of a UUIDv7>`. */
export type PrefixedId<K extends IdKind> = `${IdPrefix<K>}_${string}`;

const generator = createUuidV7Generator();

/** A new sortable id of the given kind, e.g. `acc_06bq6xq0t5z1r8mvm4a3k9x2e0`. */
export function newId<K extends IdKind>(kind: K): PrefixedId<K> {
  return `${idPrefixes[kind]}_${encode128(generator.bytes())}` as PrefixedId<K>;
}

/** A new UUIDv7 in its canonical text form (event ids, trace-friendly keys). */
export function newUuidV7(): string {
  return formatUuid(generator.bytes());
}

/** Whether `value` is a well-formed id of the given kind (prefix, length, alphabet, version 7). */
export function isId<K extends IdKind>(kind: K, value: string): value is PrefixedId<K> {
  return decodeId(kind, value) !== undefined;
}

/** The UUIDv7 bytes behind an id of the given kind, or undefined when it is not one. */
export function decodeId(kind: IdKind, value: string): Uint8Array | undefined {
  const prefix = `${idPrefixes[kind]}_`;
  if (!value.startsWith(prefix)) return undefined;
  const bytes = decode128(value.slice(prefix.length));
  if (!bytes || ((bytes[6] ?? 0) & 0xf0) !== 0x70 || ((bytes[8] ?? 0) & 0xc0) !== 0x80) return undefined;
  return bytes;
}

/** When an id was created (from its UUIDv7 timestamp), or undefined when it is not an id of that kind. */
export function idTimestamp(kind: IdKind, value: string): Date | undefined {
  const bytes = decodeId(kind, value);
  return bytes ? new Date(uuidV7Timestamp(bytes)) : undefined;
}
