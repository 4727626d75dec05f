import { describe, expect, it } from 'vitest';
import { compareBytes, shortSuccessor, shortestSeparator } from '../../../src/base/comparator.js';
import {
  KIND_FOR_SEEK, ValueKind, compareInternalKeys, kindOf, makeInternalKey, sequenceOf, userKeyOf,
} from '../../../src/base/internal-key.js';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('internal keys', () => {
  it('encode the trailer as LevelDB: fixed64 (seq << 8 | kind), little-endian (golden bytes)', () => {
    const ikey = makeInternalKey(k('a'), 0x010203, ValueKind.Value);
    expect([...ikey]).toEqual([0x61, 0x01, 0x03, 0x02, 0x01, 0, 0, 0, 0]);
  });

  it('round-trip sequence numbers up to 2^53 - 1', () => {
    for (const seq of [0, 1, 0xffffff, 0x1000000, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]) {
      const ikey = makeInternalKey(k('key'), seq, ValueKind.Deletion);
      expect(sequenceOf(ikey)).toBe(seq);
      expect(kindOf(ikey)).toBe(ValueKind.Deletion);
      expect(new TextDecoder().decode(userKeyOf(ikey))).toBe('key');
    }
  });

  it('order user keys ascending, then sequence descending, then kind descending', () => {
    const sorted = [
      makeInternalKey(k('a'), 5, ValueKind.Value),
      makeInternalKey(k('a'), 5, ValueKind.Deletion),
      makeInternalKey(k('a'), 2, ValueKind.Value),
      makeInternalKey(k('ab'), 2 ** 30, ValueKind.Value),
      makeInternalKey(k('ab'), 1, ValueKind.Value),
      makeInternalKey(k('b'), 9, ValueKind.Value),
    ];
    const shuffled = [...sorted].reverse();
    shuffled.sort(compareInternalKeys);
    expect(shuffled).toEqual(sorted);
    // A seek key sorts before every real entry of its user key at the same sequence.
    expect(compareInternalKeys(makeInternalKey(k('a'), 5, KIND_FOR_SEEK), sorted[0]!)).toBeLessThan(0);
  });
});

describe('bytewise comparator helpers', () => {
  it('finds a short separator between two keys', () => {
    const sep = shortestSeparator(k('abcdefg'), k('abzzz'));
    expect(new TextDecoder().decode(sep)).toBe('abd');
    expect(compareBytes(k('abcdefg'), sep)).toBeLessThan(0);
    expect(compareBytes(sep, k('abzzz'))).toBeLessThan(0);
    // No shorter key exists when one is a prefix of the other or bytes are adjacent.
    expect(shortestSeparator(k('abc'), k('abcd'))).toEqual(k('abc'));
    expect(shortestSeparator(k('abc'), k('abd'))).toEqual(k('abc'));
  });

  it('finds a short successor', () => {
    expect(shortSuccessor(k('abc'))).toEqual(k('b'));
    expect(shortSuccessor(Uint8Array.of(0xff, 0xff, 0x10))).toEqual(Uint8Array.of(0xff, 0xff, 0x11));
    expect(shortSuccessor(Uint8Array.of(0xff, 0xff))).toEqual(Uint8Array.of(0xff, 0xff));
  });
});
