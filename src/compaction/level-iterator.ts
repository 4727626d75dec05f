/**
 * Concatenates the tables of one sorted level (>= 1) into a single cursor, opening each
 * table only when the cursor reaches it (LevelDB's two-level "concatenating iterator").
 */
import { compareInternalKeys } from '../base/internal-key.js';
import type { InternalIterator } from '../base/iterator.js';
import type { FileMetaData } from '../manifest/version-edit.js';

export class LevelIterator implements InternalIterator {
  readonly #files: readonly FileMetaData[];
  readonly #open: (meta: FileMetaData) => InternalIterator;
  #index = -1;
  #table: InternalIterator | undefined;

  /** Requires: `files` sorted by key and disjoint. `open` returns a cursor over one table. */
  constructor(files: readonly FileMetaData[], open: (meta: FileMetaData) => InternalIterator) {
    this.#files = files;
    this.#open = open;
  }

  #openAt(index: number): void {
    if (index === this.#index && this.#table !== undefined) return;
    this.#table?.close();
    this.#index = index;
    this.#table = index >= 0 && index < this.#files.length ? this.#open(this.#files[index]!) : undefined;
  }

  #skipForward(): void {
    while (this.#table !== undefined && !this.#table.valid()) {
      this.#openAt(this.#index + 1);
      this.#table?.seekToFirst();
    }
  }

  #skipBackward(): void {
    while (this.#table !== undefined && !this.#table.valid()) {
      this.#openAt(this.#index - 1);
      this.#table?.seekToLast();
    }
  }

  /** First file whose largest key >= target. */
  #findFile(target: Uint8Array): number {
    let lo = 0;
    let hi = this.#files.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareInternalKeys(this.#files[mid]!.largest, target) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  valid(): boolean {
    return this.#table !== undefined && this.#table.valid();
  }

  seekToFirst(): void {
    this.#openAt(0);
    this.#table?.seekToFirst();
    this.#skipForward();
  }

  seekToLast(): void {
    this.#openAt(this.#files.length - 1);
    this.#table?.seekToLast();
    this.#skipBackward();
  }

  seek(target: Uint8Array): void {
    this.#openAt(this.#findFile(target));
    this.#table?.seek(target);
    this.#skipForward();
  }

  seekForPrev(target: Uint8Array): void {
    const i = this.#findFile(target);
    this.#openAt(Math.min(i, this.#files.length - 1));
    this.#table?.seekForPrev(target);
    this.#skipBackward();
  }

  next(): void {
    this.#table!.next();
    this.#skipForward();
  }

  prev(): void {
    this.#table!.prev();
    this.#skipBackward();
  }

  key(): Uint8Array {
    return this.#table!.key();
  }

  value(): Uint8Array {
    return this.#table!.value();
  }

  close(): void {
    this.#table?.close();
    this.#table = undefined;
    this.#index = -1;
  }
}
