/**
 * The cursor contract every internal iterator (block, table, memtable, merging, level)
 * follows, as LevelDB's include/leveldb/iterator.h: position with a seek, then step.
 * `key()` and `value()` may return views that stay valid only until the cursor moves;
 * callers copy what they keep.
 */
export interface InternalIterator {
  valid(): boolean;
  seekToFirst(): void;
  seekToLast(): void;
  /** Positions at the first entry with key >= target (an internal key). */
  seek(target: Uint8Array): void;
  /** Positions at the last entry with key <= target. */
  seekForPrev(target: Uint8Array): void;
  next(): void;
  prev(): void;
  /** Requires: valid(). */
  key(): Uint8Array;
  /** Requires: valid(). */
  value(): Uint8Array;
  /** Releases what the iterator pins (blocks, versions). Idempotent. */
  close(): void;
}

/** An iterator over nothing. */
export class EmptyIterator implements InternalIterator {
  valid(): boolean { return false; }
  seekToFirst(): void {}
  seekToLast(): void {}
  seek(): void {}
  seekForPrev(): void {}
  next(): void {}
  prev(): void {}
  key(): Uint8Array { throw new Error('EmptyIterator has no key'); }
  value(): Uint8Array { throw new Error('EmptyIterator has no value'); }
  close(): void {}
}
