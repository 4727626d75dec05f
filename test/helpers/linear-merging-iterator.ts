/**
 * The reference merge for the heap MergingIterator's property test: LevelDB's table/merger.cc as
 * written, a linear scan of every child for the smallest (or largest) key on each step. Simple
 * enough to trust; too slow for compactions over many sorted runs.
 */
import { compareInternalKeys } from '../../src/base/internal-key.js';
import type { InternalIterator } from '../../src/base/iterator.js';

export class LinearMergingIterator implements InternalIterator {
  readonly #children: InternalIterator[];
  #current: InternalIterator | undefined;
  #forward = true;

  constructor(children: InternalIterator[]) {
    this.#children = children;
  }

  valid(): boolean {
    return this.#current !== undefined;
  }

  #findSmallest(): void {
    let best: InternalIterator | undefined;
    for (const child of this.#children) {
      if (child.valid() && (best === undefined || compareInternalKeys(child.key(), best.key()) < 0)) best = child;
    }
    this.#current = best;
  }

  #findLargest(): void {
    let best: InternalIterator | undefined;
    for (const child of this.#children) {
      if (child.valid() && (best === undefined || compareInternalKeys(child.key(), best.key()) > 0)) best = child;
    }
    this.#current = best;
  }

  seekToFirst(): void {
    for (const child of this.#children) child.seekToFirst();
    this.#forward = true;
    this.#findSmallest();
  }

  seekToLast(): void {
    for (const child of this.#children) child.seekToLast();
    this.#forward = false;
    this.#findLargest();
  }

  seek(target: Uint8Array): void {
    for (const child of this.#children) child.seek(target);
    this.#forward = true;
    this.#findSmallest();
  }

  seekForPrev(target: Uint8Array): void {
    for (const child of this.#children) child.seekForPrev(target);
    this.#forward = false;
    this.#findLargest();
  }

  next(): void {
    const current = this.#current!;
    if (!this.#forward) {
      // Every other child must be positioned after the current key before moving forward.
      const key = current.key().slice();
      for (const child of this.#children) {
        if (child === current) continue;
        child.seek(key);
        if (child.valid() && compareInternalKeys(child.key(), key) === 0) child.next();
      }
      this.#forward = true;
    }
    current.next();
    this.#findSmallest();
  }

  prev(): void {
    const current = this.#current!;
    if (this.#forward) {
      // Every other child must be positioned before the current key before moving backward.
      const key = current.key().slice();
      for (const child of this.#children) {
        if (child === current) continue;
        child.seekForPrev(key);
        if (child.valid() && compareInternalKeys(child.key(), key) === 0) child.prev();
      }
      this.#forward = false;
    }
    current.prev();
    this.#findLargest();
  }

  key(): Uint8Array {
    return this.#current!.key();
  }

  value(): Uint8Array {
    return this.#current!.value();
  }

  close(): void {
    for (const child of this.#children) child.close();
    this.#current = undefined;
  }
}
