/**
 * The heap MergingIterator against the linear merge it replaced (test/helpers/
 * linear-merging-iterator.ts) and against the sorted model: random children (none, empty ones,
 * one, many; entries dealt to children at random, so children overlap arbitrarily), then random
 * cursor programs (seekToFirst/Last, seek, seekForPrev, next/prev with direction changes). Both
 * merges must agree at every step; the heap must also match the model.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MergingIterator } from '../../src/compaction/merging-iterator.js';
import type { InternalIterator } from '../../src/base/iterator.js';
import { ArrayIterator } from '../helpers/array-iterator.js';
import { PROPERTY_TIMEOUT, fcParams, hex } from '../helpers/fc-params.js';
import { type IterOp, type ModelEntry, checkIterator, entriesArb, ikeyOf, opsArb } from '../helpers/iterator-model.js';
import { LinearMergingIterator } from '../helpers/linear-merging-iterator.js';

const KINDS = [0, 1, 2];

/** Entries dealt to `children` iterators by the chosen owner indexes. */
function deal(entries: ModelEntry[], owners: number[], children: number): InternalIterator[] {
  const parts: [Uint8Array, Uint8Array][][] = Array.from({ length: children }, () => []);
  entries.forEach((e, i) => parts[owners[i % Math.max(1, owners.length)]! % children]!.push([ikeyOf(e), e.value]));
  return parts.map((p) => new ArrayIterator(p));
}

function apply(it: InternalIterator, op: IterOp): void {
  switch (op.op) {
    case 'seekToFirst': return it.seekToFirst();
    case 'seekToLast': return it.seekToLast();
    case 'next': return it.next();
    case 'prev': return it.prev();
    case 'seek': return it.seek(ikeyOf(op.target));
    case 'seekForPrev': return it.seekForPrev(ikeyOf(op.target));
  }
}

const state = (it: InternalIterator): string => (it.valid() ? `${hex(it.key())}=${hex(it.value())}` : 'invalid');

const caseArb = entriesArb({ kinds: KINDS, maxLength: 120 }).chain((entries) =>
  fc.record({
    entries: fc.constant(entries),
    children: fc.integer({ min: 1, max: 40 }),
    owners: fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
    ops: opsArb(entries, 80),
  }));

describe('MergingIterator (heap) against the linear merge', () => {
  it('agrees with the linear merge and the model at every step', () => {
    fc.assert(
      fc.property(caseArb, ({ entries, children, owners, ops }) => {
        const heap = new MergingIterator(deal(entries, owners, children));
        const linear = new LinearMergingIterator(deal(entries, owners, children));
        const steps: string[] = [];
        for (const op of ops) {
          if ((op.op === 'next' || op.op === 'prev') && !linear.valid()) continue;
          apply(heap, op);
          apply(linear, op);
          steps.push(`${op.op} -> ${state(linear)}`);
          expect(state(heap), steps.join('\n')).toBe(state(linear));
        }
        checkIterator(new MergingIterator(deal(entries, owners, children)), entries, ops);
      }),
      fcParams(300),
    );
  }, PROPERTY_TIMEOUT);

  it('walks a full forward and reverse pass in order over many children', () => {
    fc.assert(
      fc.property(entriesArb({ kinds: KINDS, maxLength: 300 }), fc.integer({ min: 1, max: 64 }), fc.array(fc.nat(), { minLength: 1, maxLength: 300 }), (entries, children, owners) => {
        const it = new MergingIterator(deal(entries, owners, children));
        const forward: string[] = [];
        for (it.seekToFirst(); it.valid(); it.next()) forward.push(hex(it.key()));
        expect(forward).toEqual(entries.map((e) => hex(ikeyOf(e))));
        const backward: string[] = [];
        for (it.seekToLast(); it.valid(); it.prev()) backward.push(hex(it.key()));
        expect(backward).toEqual(forward.reverse());
      }),
      fcParams(100),
    );
  }, PROPERTY_TIMEOUT);
});
