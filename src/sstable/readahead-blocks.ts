/**
 * The data blocks of one table read with readahead, for compactions (RocksDB's compaction
 * readahead); `TableReader.scanIterator` walks them with the same TwoLevelIterator a table's
 * ordinary cursor uses.
 *
 * Point reads fetch one 4 KiB block per syscall through the block cache; a compaction reads
 * every data block once, in file order. These blocks instead come from chunks of at least
 * `readaheadBytes` read into one reused buffer, are verified and decoded from there into another
 * reused buffer, and are walked by one reused BlockIterator. Nothing enters the block cache, so
 * a compaction never evicts the read path's hot blocks. Moving backward works but reads ahead
 * from each earlier block again: the source is made for forward scans.
 *
 * Views returned by key() and value() are valid until the cursor moves (the InternalIterator
 * contract): the next block overwrites them.
 */
import { CorruptionError } from '../base/errors.js';
import { compareInternalKeysRange } from '../base/internal-key.js';
import type { RandomAccessFile } from '../fs/file-system.js';
import { Block, type BlockIterator } from './block.js';
import { decodeBlock } from './block-decode.js';
import type { BlockIndex } from './block-index.js';
import { Scratch } from './compression.js';
import { BLOCK_TRAILER_BYTES } from './format.js';

export class ReadaheadBlocks {
  readonly #file: RandomAccessFile;
  readonly #index: BlockIndex;
  readonly #readaheadBytes: number;
  #buf: Uint8Array;
  /** File offset of #buf[0] and the number of bytes read there. */
  #bufOffset = 0;
  #bufLength = 0;
  /** Where compressed blocks are decoded, reused block after block. */
  readonly #decoded = new Scratch();
  #blocks: BlockIterator | undefined;

  constructor(file: RandomAccessFile, index: BlockIndex, readaheadBytes: number) {
    this.#file = file;
    this.#index = index;
    this.#readaheadBytes = readaheadBytes;
    this.#buf = new Uint8Array(Math.min(readaheadBytes, file.size));
  }

  /** A cursor over data block `i` (unpositioned): the one reused BlockIterator, reset to it. */
  open(i: number): BlockIterator {
    const handle = { offset: this.#index.blockOffset(i), size: this.#index.blockSize(i) };
    const start = this.#bring(handle.offset, handle.size + BLOCK_TRAILER_BYTES);
    const block = new Block(decodeBlock(this.#buf, start, handle, this.#file.path, this.#decoded), this.#file.path, handle.offset);
    if (this.#blocks === undefined) this.#blocks = block.iterator(compareInternalKeysRange);
    else this.#blocks.reset(block);
    return this.#blocks;
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
