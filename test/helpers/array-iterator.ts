import { compareInternalKeys } from '../../src/base/internal-key.js';
import type { InternalIterator } from '../../src/base/iterator.js';

/** An InternalIterator over an in-memory list of (internal key, value), sorted on creation. */
export class ArrayIterator implements InternalIterator {
  readonly #entries: [Uint8Array, Uint8Array][];
  #i = -1;

  constructor(entries: [Uint8Array, Uint8Array][]) {
    this.#entries = [...entries].sort((a, b) => compareInternalKeys(a[0], b[0]));
  }

  valid(): boolean { return this.#i >= 0 && this.#i < this.#entries.length; }
  seekToFirst(): void { this.#i = 0; }
  seekToLast(): void { this.#i = this.#entries.length - 1; }
  seek(t: Uint8Array): void { this.#i = this.#entries.findIndex((e) => compareInternalKeys(e[0], t) >= 0); if (this.#i < 0) this.#i = this.#entries.length; }
  seekForPrev(t: Uint8Array): void {
    let i = this.#entries.length - 1;
    while (i >= 0 && compareInternalKeys(this.#entries[i]![0], t) > 0) i--;
    this.#i = i;
  }
  next(): void { this.#i++; }
  prev(): void { this.#i--; }
  key(): Uint8Array { return this.#entries[this.#i]![0]; }
  value(): Uint8Array { return this.#entries[this.#i]![1]; }
  close(): void {}
}
