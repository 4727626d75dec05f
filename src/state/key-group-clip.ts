/**
 * Which database keys belong to a key-group range, for rescaling restores. Keys are
 * `[stateId u16][keyGroup][...]` (key-codec.ts), so within every state a key-group range is one
 * contiguous key interval:
 *
 *     lower(s) = [s][start]        upper(s) = [s][end + 1]   (or [s + 1][0] when end is the last key group)
 *
 * The registry (state id 0) is always kept. Everything else (the gaps between the intervals)
 * is what a restore clips away.
 */
import type { KeyGroupRange } from './key-groups.js';

export interface KeyInterval {
  /** Inclusive. */
  gte: Uint8Array;
  /** Exclusive. */
  lt: Uint8Array;
}

export class KeyGroupClip {
  readonly #range: KeyGroupRange;
  readonly #prefixBytes: 1 | 2;
  readonly #maxParallelism: number;

  constructor(range: KeyGroupRange, keyGroupPrefixBytes: 1 | 2, maxParallelism: number) {
    this.#range = range;
    this.#prefixBytes = keyGroupPrefixBytes;
    this.#maxParallelism = maxParallelism;
  }

  #header(stateId: number, keyGroup: number): Uint8Array {
    const out = new Uint8Array(2 + this.#prefixBytes);
    out[0] = stateId >>> 8;
    out[1] = stateId & 0xff;
    if (this.#prefixBytes === 1) out[2] = keyGroup;
    else {
      out[2] = keyGroup >>> 8;
      out[3] = keyGroup & 0xff;
    }
    return out;
  }

  /** The keys of state `stateId` in the range. */
  stateInterval(stateId: number): KeyInterval {
    const { start, end } = this.#range;
    // [s + 1][0] rather than [s + 1]: no state key sorts between them (every one has a key group).
    const lt = end + 1 < this.#maxParallelism ? this.#header(stateId, end + 1) : this.#header(Math.min(stateId + 1, 0xffff), 0);
    return { gte: this.#header(stateId, start), lt };
  }

  /** True when some key in [smallest, largest] (user keys) may belong to the range or the registry. */
  overlaps(smallest: Uint8Array, largest: Uint8Array): boolean {
    if (smallest.length < 2 || largest.length < 2) return true; // not a state key: keep, never guess
    if (this.#range.isEmpty()) return smallest[0] === 0 && smallest[1] === 0;
    const first = (smallest[0]! << 8) | smallest[1]!;
    const last = (largest[0]! << 8) | largest[1]!;
    if (first === 0) return true; // registry
    if (last - first >= 2) return true; // a whole state lies inside
    const a = this.stateInterval(first);
    if (compare(smallest, a.lt) < 0 && (last > first || compare(largest, a.gte) >= 0)) return true;
    if (last === first) return false;
    const b = this.stateInterval(last);
    return compare(largest, b.gte) >= 0;
  }

  /** Intervals outside the range for states 1..maxStateId: what deleteRange clips away. */
  gaps(maxStateId: number): KeyInterval[] {
    const out: KeyInterval[] = [];
    let from = this.#header(1, 0); // every state key has a key group: nothing sorts between [1] and [1][0]
    for (let s = 1; s <= maxStateId; s++) {
      if (this.#range.isEmpty()) continue;
      const { gte, lt } = this.stateInterval(s);
      if (compare(from, gte) < 0) out.push({ gte: from, lt: gte });
      from = lt;
    }
    const end = this.#header(Math.min(maxStateId + 1, 0xffff), 0);
    if (this.#range.isEmpty()) out.push({ gte: this.#header(1, 0), lt: end });
    else if (compare(from, end) < 0) out.push({ gte: from, lt: end });
    return out;
  }
}

function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
