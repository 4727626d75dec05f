/**
 * A sorted-array model of an internal iterator (memtable, block, table, merging...) and a driver
 * that runs a cursor and the model through the same operations, failing at the first step where
 * they disagree. The model orders internal keys with its own comparator (user key bytewise, then
 * sequence descending, then kind descending) so it checks the engine's comparator too.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { makeInternalKey } from '../../src/base/internal-key.js';
import type { InternalIterator } from '../../src/base/iterator.js';
import { hex } from './fc-params.js';

export interface ModelEntry {
  user: Uint8Array;
  seq: number;
  kind: number;
  value: Uint8Array;
}

export interface Target {
  user: Uint8Array;
  seq: number;
  kind: number;
}

export type IterOp =
  | { op: 'seekToFirst' }
  | { op: 'seekToLast' }
  | { op: 'next' }
  | { op: 'prev' }
  | { op: 'seek'; target: Target }
  | { op: 'seekForPrev'; target: Target };

/** Bytes that make keys prefixes of each other, plus the extremes. */
const KEY_BYTES = [0x00, 0x01, 0x61, 0x62, 0x7f, 0x80, 0xfe, 0xff];
/** Longer than 32 bytes: the comparator switches to Buffer.compare there. */
const LONG_PREFIX = new Uint8Array(40).fill(0x61);

/** Short binary keys over a tiny alphabet (many shared prefixes, empty key included), some long. */
export const userKeyArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.constantFrom(...KEY_BYTES), { maxLength: 4 }).map((a) => Uint8Array.from(a)) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...KEY_BYTES), { maxLength: 3 }).map((a) => Uint8Array.from([...LONG_PREFIX, ...a])) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 12 }) },
);

export const valueArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 100, maxLength: 400 }) },
);

/** Sequence numbers start here: crossing the 24-bit and 32-bit halves of the trailer. */
export const seqBaseArb = fc.constantFrom(0, 0xffffff - 3, 0xffffffff - 3, 2 ** 50);

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length));
}

export function compareModel(a: Target, b: Target): number {
  const c = compareBytes(a.user, b.user);
  if (c !== 0) return c;
  if (a.seq !== b.seq) return a.seq > b.seq ? -1 : 1;
  return b.kind - a.kind;
}

/**
 * Entries with distinct (user key, sequence): the i-th generated entry gets sequence base + i + 1,
 * so repeated user keys become several versions. Returned sorted in internal-key order.
 */
export function entriesArb(opts: { kinds: number[]; maxLength: number }): fc.Arbitrary<ModelEntry[]> {
  // size 'max': lengths spread over the whole range, so tables usually span many blocks.
  return fc
    .tuple(
      fc.array(fc.record({ user: userKeyArb, kind: fc.constantFrom(...opts.kinds), value: valueArb }), { maxLength: opts.maxLength, size: 'max' }),
      seqBaseArb,
    )
    .map(([raw, base]) => raw.map((e, i) => ({ ...e, seq: base + i + 1 })).sort(compareModel));
}

export function targetArb(entries: ModelEntry[]): fc.Arbitrary<Target> {
  const maxSeq = entries.reduce((m, e) => Math.max(m, e.seq), 0);
  const near = entries.length === 0 ? userKeyArb : fc.oneof(userKeyArb, fc.constantFrom(...entries.map((e) => e.user)));
  const seq = fc.oneof(fc.constant(0), fc.constant(maxSeq + 1), fc.constant(2 ** 53 - 1), fc.constantFrom(...entries.map((e) => e.seq), 1));
  return fc.record({ user: near, seq, kind: fc.constantFrom(0, 1, 0xff) });
}

export function opsArb(entries: ModelEntry[], maxLength = 40): fc.Arbitrary<IterOp[]> {
  const t = targetArb(entries);
  const op: fc.Arbitrary<IterOp> = fc.oneof(
    { weight: 1, arbitrary: fc.constant({ op: 'seekToFirst' as const }) },
    { weight: 1, arbitrary: fc.constant({ op: 'seekToLast' as const }) },
    { weight: 5, arbitrary: fc.constant({ op: 'next' as const }) },
    { weight: 5, arbitrary: fc.constant({ op: 'prev' as const }) },
    { weight: 2, arbitrary: t.map((target) => ({ op: 'seek' as const, target })) },
    { weight: 2, arbitrary: t.map((target) => ({ op: 'seekForPrev' as const, target })) },
  );
  return fc.array(op, { maxLength });
}

export const ikeyOf = (t: Target): Uint8Array => makeInternalKey(t.user, t.seq, t.kind);

function describeEntry(e: ModelEntry | undefined): string {
  return e === undefined ? 'invalid' : `${hex(e.user)}@${e.seq}/${e.kind}`;
}

/**
 * Runs `ops` on `it` and on the model, checking position, key and value after each one.
 * next/prev on an invalid cursor are skipped (the contract requires valid()).
 */
export function checkIterator(it: InternalIterator, entries: ModelEntry[], ops: IterOp[]): void {
  let pos = -1;
  const history: string[] = [];
  for (const o of ops) {
    if ((o.op === 'next' || o.op === 'prev') && pos < 0) continue;
    switch (o.op) {
      case 'seekToFirst':
        it.seekToFirst();
        pos = entries.length > 0 ? 0 : -1;
        break;
      case 'seekToLast':
        it.seekToLast();
        pos = entries.length - 1;
        break;
      case 'next':
        it.next();
        pos = pos + 1 < entries.length ? pos + 1 : -1;
        break;
      case 'prev':
        it.prev();
        pos -= 1;
        break;
      case 'seek': {
        it.seek(ikeyOf(o.target));
        pos = entries.findIndex((e) => compareModel(e, o.target) >= 0);
        break;
      }
      case 'seekForPrev': {
        it.seekForPrev(ikeyOf(o.target));
        pos = -1;
        for (let i = entries.length - 1; i >= 0; i--) {
          if (compareModel(entries[i]!, o.target) <= 0) {
            pos = i;
            break;
          }
        }
        break;
      }
    }
    const expected = pos >= 0 ? entries[pos] : undefined;
    history.push(`${o.op}${'target' in o ? `(${describeEntry({ ...o.target, value: new Uint8Array(0) })})` : ''} -> ${describeEntry(expected)}`);
    const where = history.join('\n');
    expect(it.valid(), where).toBe(expected !== undefined);
    if (expected !== undefined) {
      expect(hex(it.key()), where).toBe(hex(ikeyOf(expected)));
      expect(hex(it.value()), where).toBe(hex(expected.value));
    }
  }
}
