/**
 * The user-facing iterator: turns the merged stream of internal entries into the live
 * key/value pairs visible at one sequence number, within bounds, forward or reverse
 * (LevelDB's DBIter, specialised to one direction per iterator).
 *
 * Forward: the first visible entry of each user key is its newest; a deletion hides the key.
 * Reverse: the entries of a user key arrive oldest first, so the last visible one wins.
 */
import { compareBytesRange } from '../base/comparator.js';
import { ClosedError, LsmError } from '../base/errors.js';
import {
  KIND_FOR_SEEK, MAX_SEQUENCE, TRAILER_BYTES, ValueKind, decodeTrailerSequence, makeInternalKey,
} from '../base/internal-key.js';
import type { InternalIterator } from '../base/iterator.js';
import type { FragmentedRangeTombstones } from '../base/range-tombstone.js';
import type { MergeOperator } from '../compaction/merge-operator.js';
import { type VisibleVersion, resolveValue } from './value-resolver.js';

/** What turns versions into values: range tombstones and the merge operator. */
export interface ValueResolution {
  tombstones: FragmentedRangeTombstones;
  mergeOperator: MergeOperator | undefined;
}

export interface IteratorBounds {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
}

export type Entry = [key: Uint8Array, value: Uint8Array];

export class DbIterator implements IterableIterator<Entry> {
  readonly #it: InternalIterator;
  readonly #sequence: number;
  readonly #bounds: IteratorBounds;
  readonly #reverse: boolean;
  readonly #resolution: ValueResolution;
  #remaining: number;
  #release: (() => void) | undefined;
  #started = false;
  #done = false;
  /**
   * Forward: the user key last returned. Its older versions follow it in the merged stream
   * and must be skipped on the next call too, not only within one call.
   */
  #skip: Uint8Array | undefined;

  /** @internal created by Database.iterator(); `release` unpins what the iterator holds. */
  constructor(
    it: InternalIterator, sequence: number, bounds: IteratorBounds, reverse: boolean, limit: number,
    resolution: ValueResolution, release: () => void,
  ) {
    this.#it = it;
    this.#resolution = resolution;
    this.#sequence = sequence;
    this.#bounds = bounds;
    this.#reverse = reverse;
    this.#remaining = limit;
    this.#release = release;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<Entry> {
    if (this.#done) return { done: true, value: undefined };
    if (this.#release === undefined) throw new ClosedError('iterator');
    try {
      if (!this.#started) this.#start();
      const entry = this.#remaining > 0 ? (this.#reverse ? this.#stepBackward() : this.#stepForward()) : undefined;
      if (entry === undefined) {
        this.close();
        return { done: true, value: undefined };
      }
      this.#remaining--;
      return { done: false, value: entry };
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Called by for-of on break/throw. */
  return(): IteratorResult<Entry> {
    this.close();
    return { done: true, value: undefined };
  }

  close(): void {
    this.#done = true;
    const release = this.#release;
    if (release === undefined) return;
    this.#release = undefined;
    this.#it.close();
    release();
  }

  /** @internal closes with the database; later next() calls report the database closed. */
  invalidate(): void {
    if (this.#done) return;
    this.close();
    this.#done = false;
  }

  #start(): void {
    this.#started = true;
    const { gt, gte, lt, lte } = this.#bounds;
    if (!this.#reverse) {
      // (key, 0, 0) is the last internal key of `key`, so seeking past it skips key entirely.
      if (gt !== undefined) this.#it.seek(makeInternalKey(gt, 0, 0));
      else if (gte !== undefined) this.#it.seek(makeInternalKey(gte, MAX_SEQUENCE, KIND_FOR_SEEK));
      else this.#it.seekToFirst();
      if (gt !== undefined && this.#it.valid() && this.#userKeyEquals(gt)) this.#it.next();
    } else {
      if (lt !== undefined) this.#it.seekForPrev(makeInternalKey(lt, MAX_SEQUENCE, KIND_FOR_SEEK));
      else if (lte !== undefined) this.#it.seekForPrev(makeInternalKey(lte, 0, 0));
      else this.#it.seekToLast();
      if (lt !== undefined && this.#it.valid() && this.#userKeyEquals(lt)) this.#it.prev();
    }
  }

  #userKeyEquals(key: Uint8Array): boolean {
    const k = this.#it.key();
    return compareBytesRange(k, 0, k.length - TRAILER_BYTES, key, 0, key.length) === 0;
  }

  #pastUpper(k: Uint8Array): boolean {
    const { lt, lte } = this.#bounds;
    const end = k.length - TRAILER_BYTES;
    if (lt !== undefined && compareBytesRange(k, 0, end, lt, 0, lt.length) >= 0) return true;
    return lte !== undefined && compareBytesRange(k, 0, end, lte, 0, lte.length) > 0;
  }

  #pastLower(k: Uint8Array): boolean {
    const { gt, gte } = this.#bounds;
    const end = k.length - TRAILER_BYTES;
    if (gt !== undefined && compareBytesRange(k, 0, end, gt, 0, gt.length) <= 0) return true;
    return gte !== undefined && compareBytesRange(k, 0, end, gte, 0, gte.length) < 0;
  }

  #coveringSeq(userKey: Uint8Array): number {
    const t = this.#resolution.tombstones;
    return t.isEmpty ? 0 : t.maxCoveringSeq(userKey, this.#sequence);
  }

  #stepForward(): Entry | undefined {
    const it = this.#it;
    let skip = this.#skip;
    while (it.valid()) {
      const k = it.key();
      const end = k.length - TRAILER_BYTES;
      const kind = k[end]!;
      if (kind === ValueKind.RangeDeletion || (skip !== undefined && compareBytesRange(k, 0, end, skip, 0, skip.length) === 0)) {
        it.next();
        continue;
      }
      const seq = decodeTrailerSequence(k, end);
      if (seq > this.#sequence) {
        it.next();
        continue;
      }
      if (this.#pastUpper(k)) return undefined;
      skip = k.slice(0, end);
      this.#skip = skip;
      const covering = this.#coveringSeq(skip);
      if (seq < covering || kind === ValueKind.Deletion) {
        it.next();
        continue;
      }
      if (kind === ValueKind.Value) {
        const value = it.value().slice();
        it.next();
        return [skip.slice(), value]; // a copy: the caller may modify the key it gets
      }
      if (kind !== ValueKind.Merge) throw unsupportedKind(kind);
      const value = resolveValue(skip, this.#collectForward(skip), covering, this.#resolution.mergeOperator);
      if (value !== undefined) return [skip.slice(), value];
    }
    return undefined;
  }

  /** The visible versions of `userKey` from the cursor on, newest first, down to a base. */
  #collectForward(userKey: Uint8Array): VisibleVersion[] {
    const it = this.#it;
    const out: VisibleVersion[] = [];
    for (; it.valid(); it.next()) {
      const k = it.key();
      const end = k.length - TRAILER_BYTES;
      if (compareBytesRange(k, 0, end, userKey, 0, userKey.length) !== 0) break;
      const kind = k[end]!;
      const seq = decodeTrailerSequence(k, end);
      if (kind === ValueKind.RangeDeletion || seq > this.#sequence) continue;
      out.push({ seq, kind, value: it.value().slice() });
      if (kind !== ValueKind.Merge) break;
    }
    return out;
  }

  #stepBackward(): Entry | undefined {
    const it = this.#it;
    while (it.valid()) {
      const first = it.key();
      if (this.#pastLower(first)) return undefined;
      const userKey = first.slice(0, first.length - TRAILER_BYTES);
      const versions: VisibleVersion[] = []; // oldest first while walking backward
      while (it.valid()) {
        const k = it.key();
        const end = k.length - TRAILER_BYTES;
        if (compareBytesRange(k, 0, end, userKey, 0, userKey.length) !== 0) break;
        const kind = k[end]!;
        const seq = decodeTrailerSequence(k, end);
        if (kind !== ValueKind.RangeDeletion && seq <= this.#sequence) {
          if (kind !== ValueKind.Value && kind !== ValueKind.Deletion && kind !== ValueKind.Merge) throw unsupportedKind(kind);
          versions.push({ seq, kind, value: it.value().slice() });
        }
        it.prev();
      }
      if (versions.length === 0) continue;
      versions.reverse();
      const value = resolveValue(userKey, versions, this.#coveringSeq(userKey), this.#resolution.mergeOperator);
      if (value !== undefined) return [userKey, value];
    }
    return undefined;
  }
}

function unsupportedKind(kind: number): LsmError {
  return new LsmError('LSM_CORRUPTION', `entry with unknown kind ${kind}`);
}

/** Validates iterator bounds; throws TypeError for non-byte bounds. */
export function checkBounds(bounds: IteratorBounds): void {
  for (const name of ['gt', 'gte', 'lt', 'lte'] as const) {
    const v = bounds[name];
    if (v !== undefined && !(v instanceof Uint8Array)) throw new TypeError(`iterator option ${name} must be a Uint8Array`);
  }
}
