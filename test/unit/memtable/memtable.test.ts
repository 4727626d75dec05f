import { describe, expect, it } from 'vitest';
import { ValueKind, makeInternalKey, sequenceOf, userKeyOf } from '../../../src/base/internal-key.js';
import { MemTable, nodeBytes } from '../../../src/memtable/memtable.js';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

describe('MemTable', () => {
  it('returns the newest version visible at the read sequence', () => {
    const m = MemTable.create(64 * 1024);
    m.add(1, ValueKind.Value, k('a'), k('v1'));
    m.add(2, ValueKind.Value, k('a'), k('v2'));
    m.add(3, ValueKind.Deletion, k('a'), new Uint8Array(0));
    m.add(4, ValueKind.Value, k('b'), k('b4'));
    expect(str(m.get(k('a'), 1)?.value)).toBe('v1');
    expect(str(m.get(k('a'), 2)?.value)).toBe('v2');
    expect(m.get(k('a'), 3)?.kind).toBe(ValueKind.Deletion);
    expect(m.get(k('a'), 0)).toBeUndefined();
    expect(m.get(k('ab'), 10)).toBeUndefined();
    expect(m.get(k(''), 10)).toBeUndefined();
    expect(m.entryCount).toBe(4);
  });

  it('iterates in internal-key order, forward and backward, and seeks', () => {
    const m = MemTable.create(64 * 1024);
    const keys = ['m', 'c', 'x', 'a', 'c', 'zz', ''];
    keys.forEach((key, i) => m.add(i + 1, ValueKind.Value, k(key), k(`v${i}`)));
    const it = m.iterator();
    const forward: string[] = [];
    for (it.seekToFirst(); it.valid(); it.next()) forward.push(`${str(userKeyOf(it.key()))}@${sequenceOf(it.key())}`);
    expect(forward).toEqual(['@7', 'a@4', 'c@5', 'c@2', 'm@1', 'x@3', 'zz@6']);
    const backward: string[] = [];
    for (it.seekToLast(); it.valid(); it.prev()) backward.push(`${str(userKeyOf(it.key()))}@${sequenceOf(it.key())}`);
    expect(backward).toEqual([...forward].reverse());
    it.seek(makeInternalKey(k('c'), 3, ValueKind.Value));
    expect(sequenceOf(it.key())).toBe(2);
    it.seekForPrev(makeInternalKey(k('d'), 0, 0));
    expect(str(userKeyOf(it.key()))).toBe('c');
    expect(sequenceOf(it.key())).toBe(2);
  });

  it('accounts arena bytes and reports when an entry no longer fits', () => {
    const m = MemTable.create(4096);
    const value = new Uint8Array(100);
    let n = 0;
    while (m.fits(8, value.length)) m.add(++n, ValueKind.Value, k(String(n).padStart(8, '0')), value);
    expect(n).toBeGreaterThan(10);
    expect(m.usedBytes).toBeLessThanOrEqual(4096);
    expect(m.usedBytes + nodeBytes(8, value.length)).toBeGreaterThan(4096);
  });

  it('is readable from another view of the same shared buffer (the flush worker side)', () => {
    const m = MemTable.create(8192);
    m.add(1, ValueKind.Value, k('k'), k('v'));
    const view = MemTable.fromShared(m.buffer);
    expect(str(view.get(k('k'), 1)?.value)).toBe('v');
  });
});
