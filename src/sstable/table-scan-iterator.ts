/**
 * A forward-only cursor over one table for compactions (RocksDB's compaction readahead).
 *
 * Point reads fetch one 4 KiB block per syscall through the block cache; a compaction reads
 * every data block once, in file order. This cursor instead reads the file in chunks of at
 * least `readaheadBytes` into one reused buffer, verifies and decodes each block from there into
 * another reused buffer, and walks it with one reused BlockIterator. Nothing enters the block cache, so a compaction never
 * evicts the read path's hot blocks.
 *
 * Views returned by key() and value() are valid until the cursor moves (the InternalIterator
 * contract): the next block overwrites them.
 */
import { AssertionError, CorruptionError } from '../base/errors.js';
import { compareInternalKeysRange } from '../base/internal-key.js';
import type { InternalIterator } from '../base/iterator.js';
import type { RandomAccessFile } from '../fs/file-system.js';
import { Block, BlockIterator } from './block.js';
import { decodeBlock } from './block-decode.js';
import type { BlockIndex } from './block-index.js';
import { Scratch } from './compression.js';
import { BLOCK_TRAILER_BYTES } from './format.js';

export class TableScanIterator implements InternalIterator {
  readonly #file: RandomAccessFile;
  readonly #index: BlockIndex;
  readonly #readaheadBytes: number;
  readonly #onClose: () => void;
  #buf: Uint8Array;
  /** File offset of #buf[0] and the number of bytes read there. */
  #bufOffset = 0;
  #bufLength = 0;
  /** Index of the current data block; index.count when exhausted. */
  #blockIndex = 0;
  #blocks: BlockIterator | undefined;
  /** Where compressed blocks are decoded, reused block after block. */
  readonly #decoded = new Scratch();
  #closed = false;

  constructor(file: RandomAccessFile, index: BlockIndex, readaheadBytes: number, onClose: () => void) {
    this.#file = file;
    this.#index = index;
    this.#readaheadBytes = readaheadBytes;
    this.#onClose = onClose;
    this.#buf = new Uint8Array(Math.min(readaheadBytes, file.size));
  }

  valid(): boolean {
    return this.#blocks !== undefined && this.#blocks.valid();
  }

  seekToFirst(): void {
    this.#load(0);
    this.#blocks?.seekToFirst();
    this.#skipEmptyBlocks();
  }

  seek(target: Uint8Array): void {
    this.#load(this.#index.seek(target));
    this.#blocks?.seek(target);
    this.#skipEmptyBlocks();
  }

  next(): void {
    this.#blocks!.next();
    this.#skipEmptyBlocks();
  }

  key(): Uint8Array {
    return this.#blocks!.key();
  }

  value(): Uint8Array {
    return this.#blocks!.value();
  }

  seekToLast(): void {
    throw new AssertionError('a compaction scan moves forward only (seekToLast)');
  }

  seekForPrev(): void {
    throw new AssertionError('a compaction scan moves forward only (seekForPrev)');
  }

  prev(): void {
    throw new AssertionError('a compaction scan moves forward only (prev)');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#blocks = undefined;
    this.#onClose();
  }

  #skipEmptyBlocks(): void {
    while (this.#blocks !== undefined && !this.#blocks.valid()) {
      this.#load(this.#blockIndex + 1);
      this.#blocks?.seekToFirst();
    }
  }

  /** Makes data block `i` current (unpositioned); past the last block the cursor is invalid. */
  #load(i: number): void {
    this.#blockIndex = i;
    if (i >= this.#index.count) {
      this.#blocks = undefined;
      return;
    }
    const handle = { offset: this.#index.blockOffset(i), size: this.#index.blockSize(i) };
    const start = this.#bring(handle.offset, handle.size + BLOCK_TRAILER_BYTES);
    const block = new Block(decodeBlock(this.#buf, start, handle, this.#file.path, this.#decoded), this.#file.path, handle.offset);
    if (this.#blocks === undefined) this.#blocks = block.iterator(compareInternalKeysRange);
    else this.#blocks.reset(block);
  }

  /** Ensures file bytes [offset, offset + length) are in #buf; returns where they start there. */
  #bring(offset: number, length: number): number {
    if (offset >= this.#bufOffset && offset + length <= this.#bufOffset + this.#bufLength) return offset - this.#bufOffset;
    if (offset + length > this.#file.size) {
      throw new CorruptionError('block handle past end of file', { file: this.#file.path, offset });
    }
    const want = Math.min(Math.max(this.#readaheadBytes, length), this.#file.size - offset);
    if (this.#buf.length < want) this.#buf = new Uint8Array(want);
    const n = this.#file.read(this.#buf, 0, want, offset);
    if (n < length) throw new CorruptionError('short read of block', { file: this.#file.path, offset });
    this.#bufOffset = offset;
    this.#bufLength = n;
    return 0;
  }
}
