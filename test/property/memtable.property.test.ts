/**
 * The memtable's cursor and point lookup agree with a sorted model for any set of entries
 * (binary keys, keys that are prefixes of each other, several versions per key, sequences that
 * cross the trailer's 24/32-bit halves) under any interleaving of seeks, next and prev.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValueKind } from '../../src/base/internal-key.js';
import { MemTable, arenaBytesFor, nodeBytes } from '../../src/memtable/memtable.js';
import { PROPERTY_TIMEOUT, fcParams, hex } from '../helpers/fc-params.js';
import { type ModelEntry, checkIterator, entriesArb, opsArb, userKeyArb } from '../helpers/iterator-model.js';

const entries = entriesArb({ kinds: [ValueKind.Value, ValueKind.Deletion], maxLength: 60 });

/** Inserts in a scrambled order (insertion order must not matter). */
function build(es: ModelEntry[], order: number[]): MemTable {
  const size = es.reduce((n, e) => n + nodeBytes(e.user.length, e.value.length), arenaBytesFor(0, 0));
  const mem = MemTable.create(size);
  for (const i of order) {
    const e = es[i]!;
    expect(mem.fits(e.user.length, e.value.length)).toBe(true);
    mem.add(e.seq, e.kind, e.user, e.value);
  }
  expect(mem.entryCount).toBe(es.length);
  return mem;
}

const withOrder = entries.chain((es) =>
  fc.tuple(fc.constant(es), fc.shuffledSubarray([...es.keys()], { minLength: es.length, maxLength: es.length })),
);

describe('memtable properties', () => {
  it('iterator agrees with the sorted model under any seek/next/prev interleaving', () => {
    fc.assert(
      fc.property(withOrder.chain(([es, order]) => fc.tuple(fc.constant(es), fc.constant(order), opsArb(es, 60))), ([es, order, ops]) => {
        const mem = build(es, order);
        checkIterator(mem.iterator(), es, ops);
      }),
      fcParams(200),
    );
  }, PROPERTY_TIMEOUT);

  it('full forward and reverse scans return every entry in order', () => {
    fc.assert(
      fc.property(withOrder, ([es, order]) => {
        const it = build(es, order).iterator();
        const forward: string[] = [];
        for (it.seekToFirst(); it.valid(); it.next()) forward.push(hex(it.key()));
        const backward: string[] = [];
        for (it.seekToLast(); it.valid(); it.prev()) backward.push(hex(it.key()));
        expect(forward.length).toBe(es.length);
        expect(backward).toEqual([...forward].reverse());
      }),
      fcParams(100),
    );
  }, PROPERTY_TIMEOUT);

  it('get returns the newest version at or below the read sequence', () => {
    fc.assert(
      fc.property(
        withOrder.chain(([es, order]) => fc.tuple(
          fc.constant(es), fc.constant(order),
          fc.array(fc.tuple(es.length === 0 ? userKeyArb : fc.oneof(userKeyArb, fc.constantFrom(...es.map((e) => e.user))), fc.nat()), { maxLength: 30 }),
        )),
        ([es, order, lookups]) => {
          const mem = build(es, order);
          const maxSeq = es.reduce((m, e) => Math.max(m, e.seq), 0);
          const minSeq = es.reduce((m, e) => Math.min(m, e.seq), Number.MAX_SAFE_INTEGER);
          for (const [user, n] of lookups) {
            // Read sequences around the populated range, including below every entry.
            const seq = es.length === 0 ? n : minSeq - 1 + (n % (maxSeq - minSeq + 3));
            const expected = es.find((e) => hex(e.user) === hex(user) && e.seq <= seq);
            const hit = mem.get(user, seq);
            const what = `get(${hex(user)}, ${seq})`;
            if (expected === undefined) {
              expect(hit, what).toBeUndefined();
            } else {
              expect(hit?.sequence, what).toBe(expected.seq);
              expect(hit?.kind, what).toBe(expected.kind);
              expect(hex(hit!.value), what).toBe(hex(expected.value));
            }
          }
        },
      ),
      fcParams(200),
    );
  }, PROPERTY_TIMEOUT);
});
