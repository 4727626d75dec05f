/**
 * Little-endian fixed-width and LEB128 varint coding, as LevelDB's util/coding.h.
 * Decoders take (buf, offset) and report the position after the value through a reusable
 * cursor object, so hot loops allocate nothing.
 */
import { CorruptionError } from './errors.js';

/** A read position; decoders advance `pos`. Reuse one cursor per loop. */
export interface Cursor {
  pos: number;
}

export function encodeFixed32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value & 0xff;
  buf[offset + 1] = (value >>> 8) & 0xff;
  buf[offset + 2] = (value >>> 16) & 0xff;
  buf[offset + 3] = (value >>> 24) & 0xff;
}

export function decodeFixed32(buf: Uint8Array, offset: number): number {
  return ((buf[offset]! | (buf[offset + 1]! << 8) | (buf[offset + 2]! << 16)) >>> 0) + buf[offset + 3]! * 0x1000000;
}

/** Encodes a non-negative integer below 2^53 as 8 little-endian bytes. */
export function encodeFixed64(buf: Uint8Array, offset: number, value: number): void {
  const lo = value % 0x100000000;
  const hi = (value - lo) / 0x100000000;
  encodeFixed32(buf, offset, lo);
  encodeFixed32(buf, offset + 4, hi);
}

/** Decodes 8 little-endian bytes; values at or above 2^53 lose precision (callers check). */
export function decodeFixed64(buf: Uint8Array, offset: number): number {
  return decodeFixed32(buf, offset) + decodeFixed32(buf, offset + 4) * 0x100000000;
}

export function varintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

/** Writes `value` (a non-negative integer below 2^53) as a varint; returns the new offset. */
export function encodeVarint(buf: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    buf[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[offset++] = value;
  return offset;
}

/**
 * Reads a varint at `cur.pos` (up to 64 bits, precise below 2^53), advancing the cursor.
 * Throws CorruptionError when the varint runs past `limit` or is longer than 10 bytes.
 */
export function decodeVarint(buf: Uint8Array, cur: Cursor, limit: number = buf.length): number {
  let pos = cur.pos;
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= limit) throw new CorruptionError('truncated varint', { offset: pos });
    const b = buf[pos++]!;
    result += (b & 0x7f) * scale;
    if (b < 0x80) {
      cur.pos = pos;
      return result;
    }
    scale *= 128;
  }
  throw new CorruptionError('varint longer than 10 bytes', { offset: cur.pos });
}

/** Reads a varint that must fit in 32 bits (LevelDB's GetVarint32). */
export function decodeVarint32(buf: Uint8Array, cur: Cursor, limit: number = buf.length): number {
  const start = cur.pos;
  const v = decodeVarint(buf, cur, limit);
  if (v > 0xffffffff) throw new CorruptionError('varint32 out of range', { offset: start });
  return v;
}

/**
 * A growable byte buffer for building encodings. `reset()` keeps the allocation so builders
 * reuse one buffer for every block they write.
 */
export class ByteWriter {
  buf: Uint8Array;
  length = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
  }

  reset(): void {
    this.length = 0;
  }

  ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }

  fixed32(v: number): void {
    this.ensure(4);
    encodeFixed32(this.buf, this.length, v);
    this.length += 4;
  }

  fixed64(v: number): void {
    this.ensure(8);
    encodeFixed64(this.buf, this.length, v);
    this.length += 8;
  }

  varint(v: number): void {
    this.ensure(10);
    this.length = encodeVarint(this.buf, this.length, v);
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  /** A varint length followed by the bytes (LevelDB's PutLengthPrefixedSlice). */
  lengthPrefixed(data: Uint8Array): void {
    this.varint(data.length);
    this.bytes(data);
  }

  /** A view of the bytes written so far (valid until the next write or reset). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** A copy of the bytes written so far. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Reads a length-prefixed slice at `cur.pos` as a view into `buf`. */
export function decodeLengthPrefixed(buf: Uint8Array, cur: Cursor, limit: number = buf.length): Uint8Array {
  const start = cur.pos;
  const len = decodeVarint32(buf, cur, limit);
  if (cur.pos + len > limit) throw new CorruptionError('length-prefixed slice past end', { offset: start });
  const out = buf.subarray(cur.pos, cur.pos + len);
  cur.pos += len;
  return out;
}
