/**
 * A decoded (uncompressed) block and its cursor. Format in ./block-builder.ts and
 * docs/format/sstable.md. Malformed entries raise CorruptionError naming the table file and
 * the block's offset in it.
 */
import { decodeFixed32 } from '../base/coding.js';
import { CorruptionError } from '../base/errors.js';
import type { InternalIterator } from '../base/iterator.js';
import { PrefixViews } from '../base/reusable-bytes.js';

/** Compares a[aStart, aEnd) with b[bStart, bEnd). */
export type RangeComparator = (
  a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number,
) => number;

export class Block {
  readonly data: Uint8Array;
  readonly restartsOffset: number;
  readonly numRestarts: number;

  /** `file` and `offset` locate the block for error messages. */
  constructor(data: Uint8Array, readonly file: string, readonly offset: number) {
    if (data.length < 4) throw new CorruptionError('block too short', { file, offset });
    const numRestarts = decodeFixed32(data, data.length - 4);
    const maxRestarts = (data.length - 4) / 4;
    if (numRestarts > maxRestarts || (numRestarts === 0 && data.length > 4)) {
      throw new CorruptionError(`bad restart count ${numRestarts}`, { file, offset });
    }
    this.data = data;
    this.numRestarts = numRestarts;
    this.restartsOffset = data.length - 4 - numRestarts * 4;
  }

  /** Bytes this block holds in memory (its charge in the block cache). */
  get charge(): number {
    return this.data.length;
  }

  restartPoint(i: number): number {
    return decodeFixed32(this.data, this.restartsOffset + i * 4);
  }

  iterator(compare: RangeComparator): BlockIterator {
    return new BlockIterator(this, compare);
  }
}

export class BlockIterator implements InternalIterator {
  #block: Block;
  #data: Uint8Array;
  readonly #compare: RangeComparator;
  /** Offset of the current entry; restartsOffset when not valid. */
  #current: number;
  #next = 0;
  #restartIndex = 0;
  #key = new Uint8Array(32);
  #keyLength = 0;
  /**
   * Views of #key by length, made once: key() is called for every entry a merge looks at, and a
   * fresh subarray each time was the largest allocation of a compaction.
   */
  readonly #keyViews = new PrefixViews(this.#key);
  #valueStart = 0;
  #valueLength = 0;

  constructor(block: Block, compare: RangeComparator) {
    this.#block = block;
    this.#data = block.data;
    this.#compare = compare;
    this.#current = block.restartsOffset;
  }

  /** Points this iterator at another block (unpositioned), keeping its buffers. */
  reset(block: Block): void {
    this.#block = block;
    this.#data = block.data;
    this.#current = block.restartsOffset;
    this.#next = 0;
    this.#keyLength = 0;
  }

  valid(): boolean {
    return this.#current < this.#block.restartsOffset;
  }

  #corrupt(message: string): never {
    throw new CorruptionError(`${message} in block`, { file: this.#block.file, offset: this.#block.offset });
  }

  #varint(pos: number): number {
    // Fast path for one-byte varints, the common case for shared/nonShared/value lengths.
    const data = this.#data;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (pos >= this.#block.restartsOffset) this.#corrupt('truncated entry');
      const b = data[pos++]!;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.#next = pos;
        return result >>> 0;
      }
      shift += 7;
    }
    return this.#corrupt('bad varint');
  }

  /** Decodes the entry at this.#next; returns false at the end of the entries. */
  #parseNext(): boolean {
    const limit = this.#block.restartsOffset;
    this.#current = this.#next;
    if (this.#current >= limit) {
      this.#current = limit;
      return false;
    }
    const shared = this.#varint(this.#current);
    const nonShared = this.#varint(this.#next);
    const valueLength = this.#varint(this.#next);
    const keyStart = this.#next;
    if (shared > this.#keyLength || keyStart + nonShared + valueLength > limit) this.#corrupt('bad entry');
    const keyLength = shared + nonShared;
    if (keyLength > this.#key.length) {
      const grown = new Uint8Array(keyLength * 2);
      grown.set(this.#key.subarray(0, shared));
      this.#key = grown;
      this.#keyViews.reset(grown);
    }
    const key = this.#key;
    const data = this.#data;
    // Key deltas are short: a loop beats subarray + set (an allocation per entry).
    for (let i = 0; i < nonShared; i++) key[shared + i] = data[keyStart + i]!;
    this.#keyLength = keyLength;
    this.#valueStart = keyStart + nonShared;
    this.#valueLength = valueLength;
    this.#next = this.#valueStart + valueLength;
    return true;
  }

  /** Index of the last restart point before `offset` (-1 when none). */
  #restartBefore(offset: number): number {
    let lo = 0;
    let hi = this.#block.numRestarts; // invariant: restartPoint(i) < offset for i < lo
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#block.restartPoint(mid) < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  #seekToRestart(index: number): void {
    this.#keyLength = 0;
    this.#restartIndex = index;
    this.#next = this.#block.restartPoint(index);
  }

  seekToFirst(): void {
    if (this.#block.numRestarts === 0) return this.#invalidate();
    this.#seekToRestart(0);
    this.#parseNext();
  }

  seekToLast(): void {
    if (this.#block.numRestarts === 0) return this.#invalidate();
    this.#seekToRestart(this.#block.numRestarts - 1);
    while (this.#parseNext() && this.#next < this.#block.restartsOffset) {
      // scan to the last entry
    }
  }

  #invalidate(): void {
    this.#current = this.#block.restartsOffset;
  }

  /** Compares the key stored at a restart point (shared = 0) with target. */
  #compareRestartKey(index: number, target: Uint8Array): number {
    const pos = this.#block.restartPoint(index);
    const shared = this.#varint(pos);
    const nonShared = this.#varint(this.#next);
    this.#varint(this.#next); // value length
    if (shared !== 0) this.#corrupt('restart entry with shared bytes');
    const start = this.#next;
    if (start + nonShared > this.#block.restartsOffset) this.#corrupt('bad restart entry');
    return this.#compare(this.#data, start, start + nonShared, target, 0, target.length);
  }

  seek(target: Uint8Array): void {
    if (this.#block.numRestarts === 0) return this.#invalidate();
    // Binary search for the last restart point with key < target.
    let left = 0;
    let right = this.#block.numRestarts - 1;
    while (left < right) {
      const mid = (left + right + 1) >> 1;
      if (this.#compareRestartKey(mid, target) < 0) left = mid;
      else right = mid - 1;
    }
    this.#seekToRestart(left);
    while (this.#parseNext()) {
      if (this.#compare(this.#key, 0, this.#keyLength, target, 0, target.length) >= 0) return;
    }
  }

  seekForPrev(target: Uint8Array): void {
    this.seek(target);
    if (!this.valid()) {
      this.seekToLast();
      return;
    }
    if (this.#compare(this.#key, 0, this.#keyLength, target, 0, target.length) > 0) this.prev();
  }

  next(): void {
    this.#parseNext();
  }

  prev(): void {
    const original = this.#current;
    const index = this.#restartBefore(original);
    if (index < 0) return this.#invalidate();
    this.#seekToRestart(index);
    while (this.#parseNext() && this.#next < original) {
      // scan to the entry just before `original`
    }
  }

  key(): Uint8Array {
    return this.#keyViews.get(this.#keyLength);
  }

  value(): Uint8Array {
    return this.#data.subarray(this.#valueStart, this.#valueStart + this.#valueLength);
  }

  /** Copies the current value, for callers that keep it. */
  valueCopy(): Uint8Array {
    return this.#data.slice(this.#valueStart, this.#valueStart + this.#valueLength);
  }

  /** Copies the current key, for callers that keep it. */
  keyCopy(): Uint8Array {
    return this.#key.slice(0, this.#keyLength);
  }

  close(): void {
    this.#invalidate();
  }
}
