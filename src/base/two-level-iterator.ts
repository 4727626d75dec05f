/**
 * A cursor over a sequence of sorted, disjoint parts, each with its own cursor, opened only when
 * reached (LevelDB's two-level iterator). A table is one (the index picks data blocks); a level
 * of disjoint tables is another (file key ranges pick tables).
 */
import { compareInternalKeysRange } from './internal-key.js';
import type { InternalIterator } from './iterator.js';

export interface TwoLevelSource {
  /** Number of parts. */
  readonly count: number;
  /** Index of the first part that may hold keys >= target (count when none). */
  find(target: Uint8Array): number;
  /** A cursor over part i. */
  open(i: number): InternalIterator;
}

export class TwoLevelIterator implements InternalIterator {
  readonly #source: TwoLevelSource;
  readonly #onClose: (() => void) | undefined;
  /** Current part; -1 or count when outside. */
  #part = -1;
  #cursor: InternalIterator | undefined;
  #closed = false;

  constructor(source: TwoLevelSource, onClose?: () => void) {
    this.#source = source;
    this.#onClose = onClose;
  }

  #load(i: number): void {
    if (i === this.#part && this.#cursor !== undefined) return;
    this.#cursor?.close();
    this.#part = i;
    this.#cursor = i >= 0 && i < this.#source.count ? this.#source.open(i) : undefined;
  }

  #skipEmptyForward(): void {
    while (this.#cursor !== undefined && !this.#cursor.valid()) {
      this.#load(this.#part + 1);
      this.#cursor?.seekToFirst();
    }
  }

  #skipEmptyBackward(): void {
    while (this.#cursor !== undefined && !this.#cursor.valid()) {
      this.#load(this.#part - 1);
      this.#cursor?.seekToLast();
    }
  }

  valid(): boolean {
    return this.#cursor !== undefined && this.#cursor.valid();
  }

  seekToFirst(): void {
    this.#load(0);
    this.#cursor?.seekToFirst();
    this.#skipEmptyForward();
  }

  seekToLast(): void {
    this.#load(this.#source.count - 1);
    this.#cursor?.seekToLast();
    this.#skipEmptyBackward();
  }

  seek(target: Uint8Array): void {
    this.#load(this.#source.find(target));
    this.#cursor?.seek(target);
    this.#skipEmptyForward();
  }

  seekForPrev(target: Uint8Array): void {
    this.seek(target);
    if (!this.valid()) {
      this.seekToLast();
      return;
    }
    const k = this.key();
    if (compareInternalKeysRange(k, 0, k.length, target, 0, target.length) > 0) this.prev();
  }

  next(): void {
    this.#cursor!.next();
    this.#skipEmptyForward();
  }

  prev(): void {
    this.#cursor!.prev();
    this.#skipEmptyBackward();
  }

  key(): Uint8Array {
    return this.#cursor!.key();
  }

  value(): Uint8Array {
    return this.#cursor!.value();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cursor?.close();
    this.#cursor = undefined;
    this.#onClose?.();
  }
}
