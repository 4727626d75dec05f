/**
 * Value formats of state entries (docs/keyed-state.md, "Values"). Shared by the state
 * primitives on the main thread and the TTL compaction filter on worker threads.
 *
 * - Single values (ValueState, ReducingState, AggregatingState, one MapState entry): the
 *   serialized value; with TTL, an 8-byte big-endian timestamp (ms, last access as Flink's
 *   TtlValue) in front.
 * - Lists (ListState): a concatenation of self-delimiting elements, `[varint32 length][bytes]`,
 *   with TTL `[8-byte timestamp][varint32 length][bytes]`. Self-delimiting elements are what
 *   lets `add` be a merge operand that the concat operator appends byte for byte, so adding
 *   never reads the list.
 */
import { decodeVarint32, encodeVarint, varintLength } from '../base/coding.js';
import { CorruptionError } from '../base/errors.js';

export const TIMESTAMP_BYTES = 8;

function writeTimestamp(out: Uint8Array, offset: number, ms: number): void {
  const hi = Math.floor(ms / 0x100000000);
  const lo = ms - hi * 0x100000000;
  out[offset] = hi >>> 24;
  out[offset + 1] = (hi >>> 16) & 0xff;
  out[offset + 2] = (hi >>> 8) & 0xff;
  out[offset + 3] = hi & 0xff;
  out[offset + 4] = lo >>> 24;
  out[offset + 5] = (lo >>> 16) & 0xff;
  out[offset + 6] = (lo >>> 8) & 0xff;
  out[offset + 7] = lo & 0xff;
}

export function readTimestamp(bytes: Uint8Array, offset: number): number {
  if (offset + TIMESTAMP_BYTES > bytes.length) throw new CorruptionError('state value shorter than its TTL timestamp', { offset });
  const hi = ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
  const lo = ((bytes[offset + 4]! << 24) | (bytes[offset + 5]! << 16) | (bytes[offset + 6]! << 8) | bytes[offset + 7]!) >>> 0;
  return hi * 0x100000000 + lo;
}

/** `[timestamp][value]`. */
export function withTimestamp(ms: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(TIMESTAMP_BYTES + value.length);
  writeTimestamp(out, 0, ms);
  out.set(value, TIMESTAMP_BYTES);
  return out;
}

/** One list element as stored; `timestamp` is set for lists with TTL. */
export interface ListElement {
  timestamp: number | undefined;
  bytes: Uint8Array;
}

/** Encodes elements (each with `timestamp` when `ttl`) as one list value or merge operand. */
export function encodeListElements(elements: readonly Uint8Array[], timestamp: number | undefined): Uint8Array {
  const header = timestamp === undefined ? 0 : TIMESTAMP_BYTES;
  let n = 0;
  for (const e of elements) n += header + varintLength(e.length) + e.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const e of elements) {
    if (timestamp !== undefined) {
      writeTimestamp(out, at, timestamp);
      at += TIMESTAMP_BYTES;
    }
    at = encodeVarint(out, at, e.length);
    out.set(e, at);
    at += e.length;
  }
  return out;
}

/** Re-encodes decoded elements, keeping each one's own timestamp. */
export function encodeStoredElements(elements: readonly ListElement[]): Uint8Array {
  let n = 0;
  for (const e of elements) n += (e.timestamp === undefined ? 0 : TIMESTAMP_BYTES) + varintLength(e.bytes.length) + e.bytes.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const e of elements) {
    if (e.timestamp !== undefined) {
      writeTimestamp(out, at, e.timestamp);
      at += TIMESTAMP_BYTES;
    }
    at = encodeVarint(out, at, e.bytes.length);
    out.set(e.bytes, at);
    at += e.bytes.length;
  }
  return out;
}

/** Decodes a stored list; element bytes are views into `value`. CorruptionError when malformed. */
export function decodeListElements(value: Uint8Array, ttl: boolean): ListElement[] {
  const out: ListElement[] = [];
  const cur = { pos: 0 };
  while (cur.pos < value.length) {
    let timestamp: number | undefined;
    if (ttl) {
      timestamp = readTimestamp(value, cur.pos);
      cur.pos += TIMESTAMP_BYTES;
    }
    const len = decodeVarint32(value, cur);
    if (cur.pos + len > value.length) throw new CorruptionError('list element runs past the end of its value', { offset: cur.pos });
    out.push({ timestamp, bytes: value.subarray(cur.pos, cur.pos + len) });
    cur.pos += len;
  }
  return out;
}
