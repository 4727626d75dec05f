import { describe, expect, it } from 'vitest';
import { createTtlCompactionFilter } from '../../../src/state/ttl-compaction-filter.js';
import { decodeListElements, encodeListElements, encodeStoredElements, withTimestamp } from '../../../src/state/state-values.js';

const key = (stateId: number): Uint8Array => Uint8Array.of(stateId >> 8, stateId & 0xff, 3, 0x61, 0, 1);
const v = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('TTL compaction filter', () => {
  const filter = createTtlCompactionFilter({
    states: [{ stateId: 1, ttlMs: 100, list: false }, { stateId: 2, ttlMs: 100, list: true }],
    nowMs: 1000,
  });

  it('removes expired single values and keeps live ones (expired once timestamp + ttl <= now)', () => {
    expect(filter.filter(1, key(1), withTimestamp(900, v('x')))).toBe('remove');
    expect(filter.filter(1, key(1), withTimestamp(901, v('x')))).toBe('keep');
  });

  it('drops expired list elements, keeps order, removes an all-expired list', () => {
    const stored = encodeStoredElements([
      { timestamp: 850, bytes: v('a') }, { timestamp: 950, bytes: v('b') }, { timestamp: 800, bytes: v('c') }, { timestamp: 990, bytes: v('d') },
    ]);
    const out = filter.filter(1, key(2), stored);
    expect(out).toBeInstanceOf(Uint8Array);
    expect(decodeListElements(out as Uint8Array, true).map((e) => [e.timestamp, new TextDecoder().decode(e.bytes)])).toEqual([[950, 'b'], [990, 'd']]);
    expect(filter.filter(1, key(2), encodeListElements([v('a'), v('b')], 500))).toBe('remove');
    expect(filter.filter(1, key(2), encodeListElements([v('a')], 950))).toBe('keep');
  });

  it('keeps states without TTL, other keys, and values it cannot parse', () => {
    expect(filter.filter(1, key(3), withTimestamp(0, v('x')))).toBe('keep');
    expect(filter.filter(1, Uint8Array.of(0), v('x'))).toBe('keep');
    expect(filter.filter(1, key(1), Uint8Array.of(1, 2))).toBe('keep');
    expect(filter.filter(1, key(2), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1, 0x7f))).toBe('keep'); // element runs past the end
  });

  it('uses the clock of the worker when no fixed time is given', () => {
    const live = createTtlCompactionFilter({ states: [{ stateId: 1, ttlMs: 60_000, list: false }] });
    expect(live.filter(1, key(1), withTimestamp(Date.now(), v('x')))).toBe('keep');
    expect(live.filter(1, key(1), withTimestamp(Date.now() - 120_000, v('x')))).toBe('remove');
  });
});
