/**
 * Internal keys: the user key followed by an 8-byte little-endian trailer packing
 * (sequence << 8) | kind, as LevelDB's dbformat.h. Order: user key ascending, then trailer
 * descending, so the newest version of a key comes first.
 *
 * Sequence numbers are JS numbers; LevelDB allows 56 bits, we allow 2^53 - 1 (far beyond what
 * a process can write) and encode the trailer as two 32-bit halves to stay exact.
 */
import { compareBytesRange } from './comparator.js';
import { CorruptionError } from './errors.js';

/** Value kinds. Ids are LevelDB's (0, 1) and RocksDB's (2, 0xF); never reuse one. */
export const enum ValueKind {
  Deletion = 0x0,
  Value = 0x1,
  Merge = 0x2,
  RangeDeletion = 0xf,
}

/** Sorts before every real kind at the same sequence; used only for in-memory seek keys. */
export const KIND_FOR_SEEK = 0xff;

export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;
export const TRAILER_BYTES = 8;

export type SequenceNumber = number;

export function isKnownKind(kind: number): boolean {
  return kind === ValueKind.Deletion || kind === ValueKind.Value || kind === ValueKind.Merge || kind === ValueKind.RangeDeletion;
}

/** Writes the 8-byte trailer for (seq, kind) at `offset`. */
export function encodeTrailer(buf: Uint8Array, offset: number, seq: number, kind: number): void {
  const lo = seq % 0x1000000; // low 24 bits of seq share the low word with the kind byte
  const hi = (seq - lo) / 0x1000000;
  buf[offset] = kind;
  buf[offset + 1] = lo & 0xff;
  buf[offset + 2] = (lo >>> 8) & 0xff;
  buf[offset + 3] = (lo >>> 16) & 0xff;
  buf[offset + 4] = hi & 0xff;
  buf[offset + 5] = (hi >>> 8) & 0xff;
  buf[offset + 6] = (hi >>> 16) & 0xff;
  buf[offset + 7] = (hi >>> 24) & 0xff;
}

/** Sequence number of the trailer at `offset`. */
export function decodeTrailerSequence(buf: Uint8Array, offset: number): number {
  const lo = buf[offset + 1]! | (buf[offset + 2]! << 8) | (buf[offset + 3]! << 16);
  const hi = (buf[offset + 4]! | (buf[offset + 5]! << 8) | (buf[offset + 6]! << 16)) + buf[offset + 7]! * 0x1000000;
  return hi * 0x1000000 + lo;
}

export function makeInternalKey(userKey: Uint8Array, seq: number, kind: number): Uint8Array {
  const out = new Uint8Array(userKey.length + TRAILER_BYTES);
  out.set(userKey, 0);
  encodeTrailer(out, userKey.length, seq, kind);
  return out;
}

export function userKeyOf(ikey: Uint8Array): Uint8Array {
  return ikey.subarray(0, ikey.length - TRAILER_BYTES);
}

export function kindOf(ikey: Uint8Array): number {
  return ikey[ikey.length - TRAILER_BYTES]!;
}

export function sequenceOf(ikey: Uint8Array): number {
  return decodeTrailerSequence(ikey, ikey.length - TRAILER_BYTES);
}

/**
 * True for the exclusive upper bound a range tombstone gives a table: (end, MAX_SEQUENCE,
 * RangeDeletion). A file whose largest key is such a sentinel does not contain its user key,
 * so the next file of a level may start at it.
 */
export function isRangeDeletionSentinel(ikey: Uint8Array): boolean {
  return kindOf(ikey) === ValueKind.RangeDeletion && sequenceOf(ikey) === MAX_SEQUENCE;
}

/** Throws CorruptionError unless `ikey` is long enough to hold a trailer with a known kind. */
export function checkInternalKey(ikey: Uint8Array): void {
  if (ikey.length < TRAILER_BYTES) throw new CorruptionError('internal key shorter than its trailer');
  if (!isKnownKind(kindOf(ikey))) throw new CorruptionError(`unknown value kind ${kindOf(ikey)}`);
}

/** Compares trailers descending (higher sequence, then higher kind, first). */
function compareTrailers(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): number {
  // Compare from the most significant byte down; larger trailer sorts first.
  for (let i = 7; i >= 0; i--) {
    const d = b[bOff + i]! - a[aOff + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Orders internal keys: user key ascending, then (sequence, kind) descending. */
export function compareInternalKeys(a: Uint8Array, b: Uint8Array): number {
  const aUser = a.length - TRAILER_BYTES;
  const bUser = b.length - TRAILER_BYTES;
  const c = compareBytesRange(a, 0, aUser, b, 0, bUser);
  if (c !== 0) return c;
  return compareTrailers(a, aUser, b, bUser);
}

/** Same as compareInternalKeys over ranges of larger buffers. */
export function compareInternalKeysRange(
  a: Uint8Array, aStart: number, aEnd: number,
  b: Uint8Array, bStart: number, bEnd: number,
): number {
  const aUser = aEnd - TRAILER_BYTES;
  const bUser = bEnd - TRAILER_BYTES;
  const c = compareBytesRange(a, aStart, aUser, b, bStart, bUser);
  if (c !== 0) return c;
  return compareTrailers(a, aUser, b, bUser);
}

/** Compares only the user-key parts of two internal keys. */
export function compareUserKeysOf(a: Uint8Array, b: Uint8Array): number {
  return compareBytesRange(a, 0, a.length - TRAILER_BYTES, b, 0, b.length - TRAILER_BYTES);
}
