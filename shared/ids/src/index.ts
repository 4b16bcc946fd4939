export { decode128, encode128 } from "./base32.ts";
export {
  decodeId,
  type IdKind,
  type IdPrefix,
  idPrefixes,
  idTimestamp,
  isId,
  newId,
  newUuidV7,
  type PrefixedId,
} from "./ids.ts";
export { randomBytes } from "./random.ts";
export { createUuidV7Generator, formatUuid, type UuidV7Generator, uuidV7Timestamp } from "./uuidv7.ts";
