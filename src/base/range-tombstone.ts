/**
 * Range tombstones: `deleteRange(start, end)` at sequence `seq` hides every point entry of a
 * user key in [start, end) whose sequence is lower. Reads ask one question: what is the highest
 * tombstone sequence, at or below the read sequence, that covers this key?
 *
 * FragmentedRangeTombstones answers it in O(log n): the tombstones are cut at every start and
 * end into non-overlapping fragments, each holding the sequences of the tombstones that cover
 * it, highest first (RocksDB's FragmentedRangeTombstoneList).
 */
import { compareBytes } from './comparator.js';

export interface RangeTombstone {
  start: Uint8Array;
  /** Exclusive. */
  end: Uint8Array;
  seq: number;
}

interface Fragment {
  start: Uint8Array;
  end: Uint8Array;
  /** Sequences of the tombstones covering this fragment, descending. */
  seqs: number[];
}

export class FragmentedRangeTombstones {
  readonly #fragments: Fragment[];
  readonly count: number;

  constructor(tombstones: readonly RangeTombstone[]) {
    this.count = tombstones.length;
    this.#fragments = fragment(tombstones);
  }

  static readonly EMPTY = new FragmentedRangeTombstones([]);

  get isEmpty(): boolean {
    return this.count === 0;
  }

  /** Highest sequence <= readSeq of a tombstone covering `userKey`; 0 when none. */
  maxCoveringSeq(userKey: Uint8Array, readSeq: number): number {
    const frags = this.#fragments;
    let lo = 0;
    let hi = frags.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(frags[mid]!.end, userKey) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const f = frags[lo];
    if (f === undefined || compareBytes(f.start, userKey) > 0) return 0;
    for (const s of f.seqs) if (s <= readSeq) return s;
    return 0;
  }

  /** True when a point entry of `userKey` at `seq` is hidden from a reader at `readSeq`. */
  covers(userKey: Uint8Array, seq: number, readSeq: number): boolean {
    return this.count > 0 && this.maxCoveringSeq(userKey, readSeq) > seq;
  }

  /** The fragments as tombstones (one per covering sequence), for writing into tables. */
  *tombstones(): Generator<RangeTombstone> {
    for (const f of this.#fragments) for (const seq of f.seqs) yield { start: f.start, end: f.end, seq };
  }
}

/** Sweep over the sorted boundaries, keeping the set of tombstones active at each point. */
function fragment(tombstones: readonly RangeTombstone[]): Fragment[] {
  const live = tombstones.filter((t) => compareBytes(t.start, t.end) < 0);
  if (live.length === 0) return [];
  const events = live.flatMap((t) => [{ key: t.start, seq: t.seq, delta: 1 }, { key: t.end, seq: t.seq, delta: -1 }]);
  events.sort((a, b) => compareBytes(a.key, b.key));
  const active = new Map<number, number>(); // seq -> number of active tombstones with it
  const out: Fragment[] = [];
  let i = 0;
  while (i < events.length) {
    const key = events[i]!.key;
    for (; i < events.length && compareBytes(events[i]!.key, key) === 0; i++) {
      const e = events[i]!;
      const n = (active.get(e.seq) ?? 0) + e.delta;
      if (n === 0) active.delete(e.seq);
      else active.set(e.seq, n);
    }
    const next = events[i]?.key;
    if (next !== undefined && active.size > 0) out.push({ start: key, end: next, seqs: [...active.keys()].sort((a, b) => b - a) });
  }
  return out;
}
