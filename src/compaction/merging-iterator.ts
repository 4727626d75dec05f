/**
 * Merges sorted child iterators into one sorted stream of internal keys (LevelDB's
 * table/merger.cc with RocksDB's heap). A compaction over 30 sorted runs would compare 30 keys
 * per entry with a linear scan; the binary heap here needs about log2(children) + 2 per step
 * (see #siftTopDown), and only the child that moved is re-examined.
 *
 * Moving forward the valid children sit in a min-heap by current key; moving backward in a
 * max-heap. A change of direction repositions every other child around the current key (as
 * LevelDB does) and rebuilds the heap in the new order. Entries with equal keys cannot occur:
 * every entry has a unique sequence number.
 */
import { compareInternalKeys } from '../base/internal-key.js';
import type { InternalIterator } from '../base/iterator.js';

export class MergingIterator implements InternalIterator {
  readonly #children: InternalIterator[];
  /** Valid children; heap[0] is the current one. */
  readonly #heap: InternalIterator[] = [];
  /**
   * keys[i] is heap[i].key(), refreshed whenever that child moves: comparisons then read
   * arrays instead of calling through each child's (different) iterator class.
   */
  readonly #keys: Uint8Array[] = [];
  /** 1 while moving forward (min-heap), -1 while moving backward (max-heap). */
  #direction = 1;

  constructor(children: InternalIterator[]) {
    this.#children = children;
  }

  valid(): boolean {
    return this.#heap.length > 0;
  }

  /** Whether key a belongs above key b in the heap for the current direction. */
  #before(a: Uint8Array, b: Uint8Array): boolean {
    return compareInternalKeys(a, b) * this.#direction < 0;
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const keys = this.#keys;
    const n = heap.length;
    const item = heap[i]!;
    const itemKey = keys[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.#before(keys[right]!, keys[left]!)) child = right;
      if (!this.#before(keys[child]!, itemKey)) break;
      heap[i] = heap[child]!;
      keys[i] = keys[child]!;
      i = child;
    }
    heap[i] = item;
    keys[i] = itemKey;
  }

  /** Rebuilds the heap from every valid child, ordered for `direction`. */
  #rebuild(direction: number): void {
    this.#direction = direction;
    const heap = this.#heap;
    const keys = this.#keys;
    heap.length = 0;
    keys.length = 0;
    for (const child of this.#children) {
      if (!child.valid()) continue;
      heap.push(child);
      keys.push(child.key());
    }
    for (let i = (heap.length >>> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  /**
   * Restores the order after the top's key grew (the hot path of a merge). The moved child
   * usually belongs near the bottom, so after checking the top's smaller child this descends
   * along smaller children to a leaf (one comparison per level) and climbs back to where the
   * child fits (Floyd's bottom-up sift): about log2(n) + 2 comparisons instead of 2·log2(n).
   */
  #siftTopDown(): void {
    const heap = this.#heap;
    const keys = this.#keys;
    const n = heap.length;
    const item = heap[0]!;
    const itemKey = keys[0]!;
    let j = this.#smallerChild(0, n);
    if (j < 0 || !this.#before(keys[j]!, itemKey)) return;
    for (let c = this.#smallerChild(j, n); c >= 0; c = this.#smallerChild(j, n)) j = c;
    while (this.#before(itemKey, keys[j]!)) j = (j - 1) >>> 1;
    // Move every element on the path from the top to j up one level; the item takes j.
    let carry = heap[j]!;
    let carryKey = keys[j]!;
    heap[j] = item;
    keys[j] = itemKey;
    while (j > 0) {
      j = (j - 1) >>> 1;
      const nextCarry = heap[j]!;
      const nextCarryKey = keys[j]!;
      heap[j] = carry;
      keys[j] = carryKey;
      carry = nextCarry;
      carryKey = nextCarryKey;
    }
  }

  /** The child of i that belongs higher, or -1 for a leaf. */
  #smallerChild(i: number, n: number): number {
    const left = 2 * i + 1;
    if (left >= n) return -1;
    const right = left + 1;
    return right < n && this.#before(this.#keys[right]!, this.#keys[left]!) ? right : left;
  }

  /** After the current child moved: restore the heap order, dropping it when exhausted. */
  #afterCurrentMoved(): void {
    const heap = this.#heap;
    const keys = this.#keys;
    const current = heap[0]!;
    if (current.valid()) {
      keys[0] = current.key();
      this.#siftTopDown();
      return;
    }
    const last = heap.pop()!;
    const lastKey = keys.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      keys[0] = lastKey;
      this.#siftDown(0);
    }
  }

  seekToFirst(): void {
    for (const child of this.#children) child.seekToFirst();
    this.#rebuild(1);
  }

  seekToLast(): void {
    for (const child of this.#children) child.seekToLast();
    this.#rebuild(-1);
  }

  seek(target: Uint8Array): void {
    for (const child of this.#children) child.seek(target);
    this.#rebuild(1);
  }

  seekForPrev(target: Uint8Array): void {
    for (const child of this.#children) child.seekForPrev(target);
    this.#rebuild(-1);
  }

  next(): void {
    const current = this.#heap[0]!;
    if (this.#direction < 0) {
      // Every other child must be positioned after the current key before moving forward.
      const key = current.key().slice();
      for (const child of this.#children) {
        if (child === current) continue;
        child.seek(key);
        if (child.valid() && compareInternalKeys(child.key(), key) === 0) child.next();
      }
      current.next();
      this.#rebuild(1);
      return;
    }
    current.next();
    this.#afterCurrentMoved();
  }

  prev(): void {
    const current = this.#heap[0]!;
    if (this.#direction > 0) {
      // Every other child must be positioned before the current key before moving backward.
      const key = current.key().slice();
      for (const child of this.#children) {
        if (child === current) continue;
        child.seekForPrev(key);
        if (child.valid() && compareInternalKeys(child.key(), key) === 0) child.prev();
      }
      current.prev();
      this.#rebuild(-1);
      return;
    }
    current.prev();
    this.#afterCurrentMoved();
  }

  key(): Uint8Array {
    return this.#keys[0]!;
  }

  value(): Uint8Array {
    return this.#heap[0]!.value();
  }

  close(): void {
    for (const child of this.#children) child.close();
    this.#heap.length = 0;
    this.#keys.length = 0;
  }
}
