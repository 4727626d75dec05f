import { describe, expect, it } from 'vitest';
import {
  ByteWriter, decodeFixed32, decodeFixed64, decodeLengthPrefixed, decodeVarint, decodeVarint32, encodeFixed32,
  encodeFixed64, encodeVarint, varintLength,
} from '../../../src/base/coding.js';
import { CorruptionError } from '../../../src/base/errors.js';

describe('fixed coding', () => {
  it('is little-endian (golden bytes)', () => {
    const b = new Uint8Array(12);
    encodeFixed32(b, 0, 0x04030201);
    encodeFixed64(b, 4, 0x0807060504030201 > Number.MAX_SAFE_INTEGER ? 2 ** 52 + 1 : 0);
    expect([...b.subarray(0, 4)]).toEqual([1, 2, 3, 4]);
    expect(decodeFixed32(b, 0)).toBe(0x04030201);
    encodeFixed64(b, 4, 2 ** 52 + 1);
    expect([...b.subarray(4, 12)]).toEqual([1, 0, 0, 0, 0, 0, 0x10, 0]);
    expect(decodeFixed64(b, 4)).toBe(2 ** 52 + 1);
  });

  it('round-trips 32-bit extremes', () => {
    const b = new Uint8Array(4);
    for (const v of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff]) {
      encodeFixed32(b, 0, v);
      expect(decodeFixed32(b, 0)).toBe(v);
    }
  });
});

describe('varint', () => {
  it('encodes LEB128 (golden bytes)', () => {
    const b = new Uint8Array(10);
    expect(encodeVarint(b, 0, 300)).toBe(2);
    expect([...b.subarray(0, 2)]).toEqual([0xac, 0x02]);
  });

  it('round-trips values up to 2^53', () => {
    const b = new Uint8Array(10);
    for (const v of [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 49 + 7, Number.MAX_SAFE_INTEGER]) {
      const n = encodeVarint(b, 0, v);
      expect(n).toBe(varintLength(v));
      const cur = { pos: 0 };
      expect(decodeVarint(b, cur)).toBe(v);
      expect(cur.pos).toBe(n);
    }
  });

  it('raises CorruptionError for truncated, overlong, and out-of-range varints', () => {
    expect(() => decodeVarint(Uint8Array.of(0x80, 0x80), { pos: 0 })).toThrow(CorruptionError);
    expect(() => decodeVarint(new Uint8Array(11).fill(0x80), { pos: 0 })).toThrow(CorruptionError);
    const b = new Uint8Array(10);
    const n = encodeVarint(b, 0, 2 ** 32);
    expect(() => decodeVarint32(b.subarray(0, n), { pos: 0 })).toThrow(CorruptionError);
  });
});

describe('ByteWriter', () => {
  it('grows, writes length-prefixed slices, and resets without reallocating', () => {
    const w = new ByteWriter(2);
    w.lengthPrefixed(new TextEncoder().encode('hello'));
    w.fixed32(7);
    const view = w.view();
    const cur = { pos: 0 };
    expect(new TextDecoder().decode(decodeLengthPrefixed(view, cur))).toBe('hello');
    expect(decodeFixed32(view, cur.pos)).toBe(7);
    const buf = w.buf;
    w.reset();
    w.byte(1);
    expect(w.buf).toBe(buf);
    expect([...w.toBytes()]).toEqual([1]);
  });

  it('rejects a length prefix that runs past the end', () => {
    expect(() => decodeLengthPrefixed(Uint8Array.of(5, 1, 2), { pos: 0 })).toThrow(CorruptionError);
  });
});
