import { describe, expect, it } from 'vitest';
import {
  KeyGroupRange, MAX_PARALLELISM_UPPER_BOUND, assignToKeyGroup, checkMaxParallelism, checkRangeWithin, keyGroupPrefixBytes,
  keyGroupRangeForOperator, murmur3_32, operatorIndexForKeyGroup,
} from '../../../src/state/key-groups.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('checkMaxParallelism', () => {
  it('accepts integers 1..32768', () => {
    expect(MAX_PARALLELISM_UPPER_BOUND).toBe(32768);
    for (const n of [1, 2, 128, 129, 32768]) expect(checkMaxParallelism(n)).toBe(n);
  });

  it('rejects non-numbers with TypeError and bad numbers with RangeError', () => {
    for (const v of ['128', undefined, null, 128n, {}]) expect(() => checkMaxParallelism(v)).toThrow(TypeError);
    for (const v of [0, -1, 1.5, 32769, Number.NaN, Infinity]) expect(() => checkMaxParallelism(v)).toThrow(RangeError);
  });
});

describe('KeyGroupRange', () => {
  it('is inclusive', () => {
    const r = KeyGroupRange.of(3, 5);
    expect([r.start, r.end, r.size, r.isEmpty()]).toEqual([3, 5, 3, false]);
    expect([...r]).toEqual([3, 4, 5]);
    expect([2, 3, 5, 6].map((kg) => r.contains(kg))).toEqual([false, true, true, false]);
    expect(KeyGroupRange.of(7, 7).size).toBe(1);
    expect(r.toString()).toBe('[3, 5]');
  });

  it('normalises every empty range to EMPTY = [0, -1]', () => {
    const e = KeyGroupRange.EMPTY;
    expect([e.start, e.end, e.size, e.isEmpty(), [...e].length]).toEqual([0, -1, 0, true, 0]);
    expect(e.contains(0)).toBe(false);
    expect(KeyGroupRange.of(5, 4)).toBe(e);
    expect(KeyGroupRange.of(0, -1)).toBe(e);
    expect(KeyGroupRange.of(9, 2).equals(e)).toBe(true);
    expect(e.toString()).toBe('[0, -1]');
  });

  it('rejects negative and non-integer bounds', () => {
    expect(() => KeyGroupRange.of(-1, 3)).toThrow(RangeError);
    expect(() => KeyGroupRange.of(0, -2)).toThrow(RangeError);
    expect(() => KeyGroupRange.of(0.5, 3)).toThrow(RangeError);
    expect(() => KeyGroupRange.of(0, Number.NaN)).toThrow(RangeError);
    expect(() => KeyGroupRange.of('0' as unknown as number, 3)).toThrow(TypeError);
  });

  it('intersects', () => {
    const a = KeyGroupRange.of(0, 9);
    expect(a.intersection(KeyGroupRange.of(5, 20)).toJSON()).toEqual({ start: 5, end: 9 });
    expect(a.intersection(KeyGroupRange.of(9, 9)).toJSON()).toEqual({ start: 9, end: 9 });
    expect(a.intersection(KeyGroupRange.of(10, 20))).toBe(KeyGroupRange.EMPTY);
    expect(a.intersection(KeyGroupRange.EMPTY)).toBe(KeyGroupRange.EMPTY);
    expect(KeyGroupRange.EMPTY.intersection(a)).toBe(KeyGroupRange.EMPTY);
  });

  it('compares by bounds', () => {
    expect(KeyGroupRange.of(1, 4).equals(KeyGroupRange.of(1, 4))).toBe(true);
    expect(KeyGroupRange.of(1, 4).equals(KeyGroupRange.of(1, 5))).toBe(false);
    expect(KeyGroupRange.of(1, 4).equals(KeyGroupRange.EMPTY)).toBe(false);
  });

  it('round-trips through JSON and validates what it reads', () => {
    for (const r of [KeyGroupRange.of(0, 127), KeyGroupRange.of(12, 12), KeyGroupRange.EMPTY]) {
      const back = KeyGroupRange.fromJSON(JSON.parse(JSON.stringify(r)));
      expect(back.equals(r)).toBe(true);
      expect(back.toJSON()).toEqual(r.toJSON());
    }
    for (const v of [null, 3, 'x', [0, 1], {}, { start: 0 }, { start: '0', end: 1 }]) {
      expect(() => KeyGroupRange.fromJSON(v)).toThrow(TypeError);
    }
    for (const v of [{ start: -1, end: 3 }, { start: 0, end: 1.5 }, { start: 0, end: -5 }]) {
      expect(() => KeyGroupRange.fromJSON(v)).toThrow(RangeError);
    }
  });

  it('checkRangeWithin', () => {
    expect(() => checkRangeWithin(KeyGroupRange.of(0, 127), 128)).not.toThrow();
    expect(() => checkRangeWithin(KeyGroupRange.of(100, 128), 128)).toThrow(RangeError);
    expect(() => checkRangeWithin(KeyGroupRange.EMPTY, 1)).not.toThrow();
    expect(() => checkRangeWithin(KeyGroupRange.of(0, 0), 0)).toThrow(RangeError);
  });
});

describe('keyGroupPrefixBytes', () => {
  it('is 1 byte up to 128 key groups, else 2 (as Flink)', () => {
    expect(keyGroupPrefixBytes(1)).toBe(1);
    expect(keyGroupPrefixBytes(128)).toBe(1);
    expect(keyGroupPrefixBytes(129)).toBe(2);
    expect(keyGroupPrefixBytes(32768)).toBe(2);
    expect(() => keyGroupPrefixBytes(32769)).toThrow(RangeError);
  });
});

describe('murmur3_32', () => {
  // Published MurmurHash3_x86_32 test vectors (SMHasher's reference implementation; the set most
  // ports test against), also checked against an independent implementation.
  const VECTORS: [Uint8Array, number, number][] = [
    [bytes(), 0, 0],
    [bytes(), 1, 0x514e28b7],
    [bytes(), 0xffffffff, 0x81f16f39],
    [bytes(0, 0, 0, 0), 0, 0x2362f9de],
    [bytes(0, 0, 0), 0, 0x85f0b427],
    [bytes(0, 0), 0, 0x30f4c306],
    [bytes(0), 0, 0x514e28b7],
    [bytes(0xff, 0xff, 0xff, 0xff), 0, 0x76293b50],
    [bytes(0x21, 0x43, 0x65, 0x87), 0, 0xf55b516b],
    [bytes(0x21, 0x43, 0x65, 0x87), 0x5082edee, 0x2362f9de],
    [bytes(0x21, 0x43, 0x65), 0, 0x7e4a8634],
    [bytes(0x21, 0x43), 0, 0xa0f7b07a],
    [bytes(0x21), 0, 0x72661cf4],
    [utf8('aaaa'), 0x9747b28c, 0x5a97808a],
    [utf8('aaa'), 0x9747b28c, 0x283e0130],
    [utf8('aa'), 0x9747b28c, 0x5d211726],
    [utf8('a'), 0x9747b28c, 0x7fa09ea6],
    [utf8('abcd'), 0x9747b28c, 0xf0478627],
    [utf8('abc'), 0x9747b28c, 0xc84a62dd],
    [utf8('ab'), 0x9747b28c, 0x74875592],
    [utf8('Hello, world!'), 0x9747b28c, 0x24884cba],
    [utf8('ππππππππ'), 0x9747b28c, 0xd58063c1],
    [utf8('a'.repeat(256)), 0x9747b28c, 0x37405bdc],
    [utf8('abc'), 0, 0xb3dd93fa],
    [utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), 0, 0xee925b90],
    [utf8('The quick brown fox jumps over the lazy dog'), 0x9747b28c, 0x2fa826cd],
    [utf8('hello'), 0, 0x248bfa47],
    [utf8('The quick brown fox jumps over the lazy dog'), 0, 0x2e4ff723],
  ];

  it.each(VECTORS.map(([d, s, h], i) => [i, d, s, h] as const))('vector %i', (_i, data, seed, expected) => {
    expect(murmur3_32(data, seed)).toBe(expected);
  });

  it('defaults the seed to 0 and returns an unsigned 32-bit integer', () => {
    expect(murmur3_32(utf8('hello'))).toBe(0x248bfa47);
    const h = murmur3_32(bytes(0xff, 0xff, 0xff, 0xff));
    expect(h).toBeGreaterThan(0);
    expect(h).toBeLessThanOrEqual(0xffffffff);
    expect(Number.isInteger(h)).toBe(true);
  });

  it('hashes a view (Buffer, subarray) by its own bytes only', () => {
    const big = utf8('xxThe quick brown fox jumps over the lazy dogyy');
    expect(murmur3_32(big.subarray(2, big.length - 2))).toBe(0x2e4ff723);
    expect(murmur3_32(Buffer.from('hello'))).toBe(0x248bfa47);
  });
});

describe('assignToKeyGroup', () => {
  it('is murmur3_32(serialized key) % maxParallelism', () => {
    expect(assignToKeyGroup(utf8('hello'), 128)).toBe(0x248bfa47 % 128);
    expect(assignToKeyGroup(utf8('hello'), 32768)).toBe(0x248bfa47 % 32768);
    expect(assignToKeyGroup(utf8('hello'), 1)).toBe(0);
    expect(() => assignToKeyGroup(utf8('hello'), 0)).toThrow(RangeError);
  });
});

describe('operator key-group ranges', () => {
  it('match Flink for maxParallelism 128, parallelism 3', () => {
    expect([0, 1, 2].map((i) => keyGroupRangeForOperator(128, 3, i).toString())).toEqual(['[0, 42]', '[43, 85]', '[86, 127]']);
    expect(operatorIndexForKeyGroup(128, 3, 42)).toBe(0);
    expect(operatorIndexForKeyGroup(128, 3, 43)).toBe(1);
    expect(operatorIndexForKeyGroup(128, 3, 127)).toBe(2);
  });

  it('give one operator everything and each key group its own operator at full parallelism', () => {
    expect(keyGroupRangeForOperator(32768, 1, 0).toJSON()).toEqual({ start: 0, end: 32767 });
    expect(keyGroupRangeForOperator(10, 10, 7).toJSON()).toEqual({ start: 7, end: 7 });
    expect(operatorIndexForKeyGroup(10, 10, 7)).toBe(7);
  });

  it('reject bad arguments', () => {
    expect(() => keyGroupRangeForOperator(128, 0, 0)).toThrow(RangeError);
    expect(() => keyGroupRangeForOperator(128, 129, 0)).toThrow(RangeError);
    expect(() => keyGroupRangeForOperator(128, 3, 3)).toThrow(RangeError);
    expect(() => keyGroupRangeForOperator(128, 3, -1)).toThrow(RangeError);
    expect(() => keyGroupRangeForOperator(0, 1, 0)).toThrow(RangeError);
    expect(() => operatorIndexForKeyGroup(128, 3, 128)).toThrow(RangeError);
    expect(() => operatorIndexForKeyGroup(128, 3, 1.5)).toThrow(RangeError);
  });
});
