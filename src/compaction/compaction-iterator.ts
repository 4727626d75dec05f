/**
 * Decides what a compaction writes (RocksDB's CompactionIterator). Input: the merged point
 * entries of the compaction's files, newest version of each user key first. Output: the
 * entries a reader could still need.
 *
 * Snapshots cut each key's history into stripes: stripe i holds sequences in
 * (snapshot[i-1], snapshot[i]], the last stripe everything newer than the newest snapshot.
 * A reader sees only the newest entry of a stripe, so per user key and stripe:
 * - the newest entry is kept (older ones in the stripe are dropped);
 * - an entry hidden by a range tombstone of the same stripe is dropped;
 * - a deletion in the oldest stripe at the bottommost level is dropped (nothing below to hide);
 * - merge operands are folded onto the value below them when it is in the stripe, fully merged
 *   at the bottommost level when nothing is below, otherwise combined by partialMerge or kept;
 * - the compaction filter sees values no snapshot can see (the newest stripe): 'remove' turns
 *   the value into a deletion, a new value replaces it;
 * - at the bottommost level, values of the oldest stripe get sequence number 0 (as RocksDB).
 */
import { compareBytesRange } from '../base/comparator.js';
import { LsmError } from '../base/errors.js';
import type { FragmentedRangeTombstones } from '../base/range-tombstone.js';
import { MAX_SEQUENCE, TRAILER_BYTES, ValueKind, decodeTrailerSequence, makeInternalKey } from '../base/internal-key.js';
import type { InternalIterator } from '../base/iterator.js';
import { ReusableBytes } from '../base/reusable-bytes.js';
import type { CompactionFilter, MergeOperator } from './merge-operator.js';

export interface CompactionIteratorOptions {
  /** Sequence numbers of live snapshots, ascending. */
  snapshots: readonly number[];
  /** No data older than the inputs exists below the output level in their key range. */
  bottommost: boolean;
  /** Range tombstones of the input files (they hide older points of the same stripe). */
  rangeTombstones: FragmentedRangeTombstones;
  mergeOperator?: MergeOperator | undefined;
  compactionFilter?: CompactionFilter | undefined;
  /** Level the output is written to (passed to the compaction filter). */
  outputLevel: number;
  /** A subcompaction's exclusive upper user key: the input ends there for this iterator. */
  upperBound?: Uint8Array | undefined;
}

export interface CompactionStats {
  inputEntries: number;
  outputEntries: number;
  droppedObsolete: number;
  droppedTombstones: number;
  droppedByRangeTombstone: number;
  mergedOperands: number;
  filterRemoved: number;
  filterChanged: number;
}

interface Version {
  seq: number;
  kind: number;
  value: Uint8Array;
}

export interface OutputEntry {
  key: Uint8Array;
  value: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * The snapshot stripe of a sequence number: the index of the first snapshot at or above it
 * (snapshots.length: newer than every snapshot). Two versions of a key in one stripe look the
 * same to every reader, so only the newer matters.
 */
export function snapshotStripe(snapshots: readonly number[], seq: number): number {
  let lo = 0;
  let hi = snapshots.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (snapshots[mid]! < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class CompactionIterator {
  readonly #input: InternalIterator;
  readonly #options: CompactionIteratorOptions;
  readonly #pending: OutputEntry[] = [];
  #pendingAt = 0;
  /** The current key and value, copied out of the input; a lone version is emitted from them. */
  readonly #key = new ReusableBytes();
  readonly #value = new ReusableBytes(256);
  readonly #lone: OutputEntry = { key: new Uint8Array(0), value: new Uint8Array(0) };
  #loneReady = false;
  /**
   * Streaming mode (no snapshots, range tombstones or filter: one stripe, nothing to apply per
   * version): the newest version of each key is emitted straight from the input's views and the
   * input advanced on the next call; older versions are recognised by #lastUserKey and skipped.
   */
  readonly #streaming: boolean;
  #advancePending = false;
  readonly #lastUserKey = new ReusableBytes();
  #haveLastUserKey = false;
  readonly stats: CompactionStats = {
    inputEntries: 0, outputEntries: 0, droppedObsolete: 0, droppedTombstones: 0, droppedByRangeTombstone: 0,
    mergedOperands: 0, filterRemoved: 0, filterChanged: 0,
  };

  /** Requires: `input` is positioned at its first entry (seekToFirst). */
  constructor(input: InternalIterator, options: CompactionIteratorOptions) {
    this.#input = input;
    this.#options = options;
    this.#streaming = options.snapshots.length === 0 && options.rangeTombstones.isEmpty && options.compactionFilter === undefined;
  }

  /** The next entry to write, or undefined when the input is exhausted. Valid until the next call. */
  next(): OutputEntry | undefined {
    if (this.#advancePending) {
      this.#advancePending = false;
      this.#input.next();
    }
    while (!this.#loneReady && this.#pendingAt >= this.#pending.length) {
      this.#pending.length = 0;
      this.#pendingAt = 0;
      if (!this.#input.valid() || this.#atUpperBound()) return undefined;
      if (this.#streaming) this.#streamOne();
      else this.#processUserKey();
    }
    this.stats.outputEntries++;
    if (this.#loneReady) {
      this.#loneReady = false;
      return this.#lone;
    }
    return this.#pending[this.#pendingAt++];
  }

  #atUpperBound(): boolean {
    const upper = this.#options.upperBound;
    if (upper === undefined) return false;
    const k = this.#input.key();
    return compareBytesRange(k, 0, k.length - TRAILER_BYTES, upper, 0, upper.length) >= 0;
  }

  /**
   * Streaming mode, one input entry: skip it (an older version, or a deletion with nothing
   * below), emit it as #lone without copying its value, or hand a merge operand's key to the
   * general path.
   */
  #streamOne(): void {
    const input = this.#input;
    const k = input.key();
    const userEnd = k.length - TRAILER_BYTES;
    if (this.#haveLastUserKey && this.#lastUserKey.equals(k, 0, userEnd)) {
      this.stats.inputEntries++;
      this.stats.droppedObsolete++;
      input.next();
      return;
    }
    const kind = k[userEnd]!;
    if (kind !== ValueKind.Value && kind !== ValueKind.Deletion) {
      this.#haveLastUserKey = false;
      this.#processUserKey();
      return;
    }
    this.#lastUserKey.assign(k, 0, userEnd);
    this.#haveLastUserKey = true;
    this.stats.inputEntries++;
    const bottommost = this.#options.bottommost;
    if (kind === ValueKind.Deletion && bottommost) {
      this.stats.droppedTombstones++;
      input.next();
      return;
    }
    if (kind === ValueKind.Value && bottommost) {
      // No snapshot: every value at the bottom gets sequence 0 (see #push).
      this.#key.assign(k);
      zeroSequence(this.#key.buffer, userEnd);
      this.#lone.key = this.#key.view();
    } else {
      this.#lone.key = k;
    }
    this.#lone.value = kind === ValueKind.Value ? input.value() : EMPTY;
    this.#loneReady = true;
    this.#advancePending = true;
  }

  /** Reads every version of the next user key, newest first, and decides its output. */
  #processUserKey(): void {
    const input = this.#input;
    // Copy before moving on: the input's views die when it crosses into its next block.
    this.#key.assign(input.key());
    this.#value.assign(input.value());
    input.next();
    const key = this.#key.buffer;
    const userEnd = this.#key.length - TRAILER_BYTES;
    const lone = !input.valid() || !sameUserKey(input.key(), input.key().length - TRAILER_BYTES, key, userEnd);
    if (!lone) {
      this.#processVersions(key.slice(0, userEnd));
      return;
    }
    // Fast path, the common case: one version of the key.
    this.stats.inputEntries++;
    if (this.#passesThrough(key, userEnd)) {
      // Emitted from the reused buffers: nothing allocated.
      if (this.#options.bottommost && this.#stripe(decodeTrailerSequence(key, userEnd)) === 0) zeroSequence(key, userEnd);
      this.#lone.key = this.#key.view();
      this.#lone.value = this.#value.view();
      this.#loneReady = true;
      return;
    }
    this.#decide(key.slice(0, userEnd), [{ seq: decodeTrailerSequence(key, userEnd), kind: key[userEnd]!, value: this.#value.view().slice() }]);
  }

  /** The general case: every version of userKey (the newest already copied out) into #decide. */
  #processVersions(userKey: Uint8Array): void {
    const input = this.#input;
    const key = this.#key.buffer;
    const userEnd = userKey.length;
    const versions: Version[] = [{ seq: decodeTrailerSequence(key, userEnd), kind: key[userEnd]!, value: this.#value.view().slice() }];
    while (input.valid()) {
      const k = input.key();
      const end = k.length - TRAILER_BYTES;
      if (!sameUserKey(k, end, userKey, userEnd)) break;
      versions.push({ seq: decodeTrailerSequence(k, end), kind: k[end]!, value: input.value().slice() });
      input.next();
    }
    this.stats.inputEntries += versions.length;
    this.#decide(userKey, versions);
  }

  /** A lone value that no rule changes: not filtered, not under a range tombstone. */
  #passesThrough(key: Uint8Array, userEnd: number): boolean {
    return key[userEnd] === ValueKind.Value && this.#options.compactionFilter === undefined && this.#options.rangeTombstones.isEmpty;
  }

  #stripe(seq: number): number {
    return snapshotStripe(this.#options.snapshots, seq);
  }

  /** Highest sequence a reader of `stripe` can use. */
  #stripeTop(stripe: number): number {
    return this.#options.snapshots[stripe] ?? MAX_SEQUENCE;
  }

  #coveredByTombstone(userKey: Uint8Array, v: Version, stripe: number): boolean {
    const t = this.#options.rangeTombstones;
    return !t.isEmpty && t.maxCoveringSeq(userKey, this.#stripeTop(stripe)) > v.seq;
  }

  #decide(userKey: Uint8Array, versions: Version[]): void {
    let decidedStripe = -1;
    for (let i = 0; i < versions.length; ) {
      const v = versions[i]!;
      const stripe = this.#stripe(v.seq);
      if (stripe === decidedStripe) {
        this.stats.droppedObsolete++;
        i++;
        continue;
      }
      decidedStripe = stripe;
      if (this.#coveredByTombstone(userKey, v, stripe)) {
        this.stats.droppedByRangeTombstone++;
        i++;
        continue;
      }
      if (v.kind === ValueKind.Merge) {
        i = this.#mergeRun(userKey, versions, i, stripe);
        continue;
      }
      if (v.kind === ValueKind.Value) this.#emitValue(userKey, v.seq, v.value, stripe);
      else this.#emitDeletion(userKey, v.seq, stripe);
      i++;
    }
  }

  /** A value, after the compaction filter when no snapshot can see it. */
  #emitValue(userKey: Uint8Array, seq: number, value: Uint8Array, stripe: number): void {
    const filter = this.#options.compactionFilter;
    if (filter !== undefined && stripe === this.#options.snapshots.length) {
      const decision = filter.filter(this.#options.outputLevel, userKey, value);
      if (decision === 'remove') {
        this.stats.filterRemoved++;
        // A tombstone keeps older versions below hidden; at the bottom, in the oldest stripe,
        // it is dropped like any other tombstone (older versions of the stripe are dropped too).
        this.#emitDeletion(userKey, seq, stripe);
        return;
      }
      if (decision instanceof Uint8Array) {
        this.stats.filterChanged++;
        value = decision;
      } else if (decision !== 'keep') {
        throw new TypeError(`compaction filter ${filter.name} returned ${String(decision)}; expected 'keep', 'remove' or a Uint8Array`);
      }
    }
    this.#push(userKey, seq, ValueKind.Value, value);
  }

  #emitDeletion(userKey: Uint8Array, seq: number, stripe: number): void {
    if (this.#options.bottommost && stripe === 0) {
      this.stats.droppedTombstones++;
      return;
    }
    this.#push(userKey, seq, ValueKind.Deletion, new Uint8Array(0));
  }

  /**
   * Handles the merge operands starting at versions[start] (all in `stripe`); returns the index
   * of the first version it did not consume.
   */
  #mergeRun(userKey: Uint8Array, versions: Version[], start: number, stripe: number): number {
    const op = this.#options.mergeOperator;
    if (op === undefined) {
      throw new LsmError('LSM_NOT_SUPPORTED', 'the database holds merge operands but no mergeOperator is configured');
    }
    let j = start;
    const operands: Uint8Array[] = [];
    while (j < versions.length) {
      const v = versions[j]!;
      if (v.kind !== ValueKind.Merge || this.#stripe(v.seq) !== stripe || this.#coveredByTombstone(userKey, v, stripe)) break;
      operands.push(v.value);
      j++;
    }
    operands.reverse(); // oldest first
    const newestSeq = versions[start]!.seq;
    const below = versions[j];
    const belowInStripe = below !== undefined && this.#stripe(below.seq) === stripe;
    if (belowInStripe && below.kind === ValueKind.Value && !this.#coveredByTombstone(userKey, below, stripe)) {
      this.stats.mergedOperands += operands.length;
      this.#emitValue(userKey, newestSeq, op.fullMerge(userKey, below.value, operands), stripe);
      return j + 1;
    }
    const baseIsDeleted = belowInStripe; // a deletion, or a value hidden by a range tombstone
    if (baseIsDeleted || (below === undefined && this.#options.bottommost)) {
      this.stats.mergedOperands += operands.length;
      this.#emitValue(userKey, newestSeq, op.fullMerge(userKey, undefined, operands), stripe);
      // The deletion below is superseded for this stripe; older stripes still need their versions.
      return baseIsDeleted ? j + 1 : j;
    }
    this.#emitOperands(userKey, versions, start, j, operands, op);
    return j;
  }

  /** Keeps operands whose base lies outside this compaction, combined when partialMerge can. */
  #emitOperands(userKey: Uint8Array, versions: Version[], start: number, end: number, operands: Uint8Array[], op: MergeOperator): void {
    if (op.partialMerge !== undefined && operands.length > 1) {
      let acc: Uint8Array | undefined = operands[0]!;
      for (let i = 1; i < operands.length && acc !== undefined; i++) acc = op.partialMerge(userKey, acc, operands[i]!);
      if (acc !== undefined) {
        this.stats.mergedOperands += operands.length - 1;
        this.#push(userKey, versions[start]!.seq, ValueKind.Merge, acc);
        return;
      }
    }
    for (let i = start; i < end; i++) this.#push(userKey, versions[i]!.seq, ValueKind.Merge, versions[i]!.value);
  }

  #push(userKey: Uint8Array, seq: number, kind: ValueKind, value: Uint8Array): void {
    // At the bottom, a value no snapshot tells apart from older ones needs no sequence number
    // (RocksDB does the same): zero trailers compress to almost nothing.
    const zero = this.#options.bottommost && kind === ValueKind.Value && this.#stripe(seq) === 0;
    this.#pending.push({ key: makeInternalKey(userKey, zero ? 0 : seq, kind), value });
  }
}

/** Sets the sequence of the trailer at key[userEnd..] to 0, keeping its kind. */
function zeroSequence(key: Uint8Array, userEnd: number): void {
  key.fill(0, userEnd + 1, userEnd + TRAILER_BYTES);
}

/** True when k[0, end) equals userKey[0, userEnd). */
function sameUserKey(k: Uint8Array, end: number, userKey: Uint8Array, userEnd: number): boolean {
  if (end !== userEnd) return false;
  for (let i = 0; i < end; i++) if (k[i] !== userKey[i]) return false;
  return true;
}
