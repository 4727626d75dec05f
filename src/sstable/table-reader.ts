/**
 * Reads a table file written by TableBuilder or by LevelDB/RocksDB (format in
 * docs/format/sstable.md). The index block, filter and properties are read once at open and
 * pinned; data blocks come from the shared block cache or a synchronous positional read into
 * a reused buffer. Every block's checksum is verified before it is used.
 */
import { decodeFixed32 } from '../base/coding.js';
import { compareBytesRange } from '../base/comparator.js';
import { AssertionError, CorruptionError } from '../base/errors.js';
import { TRAILER_BYTES, ValueKind, compareInternalKeysRange, decodeTrailerSequence } from '../base/internal-key.js';
import type { InternalIterator } from '../base/iterator.js';
import type { FileSystem, RandomAccessFile } from '../fs/file-system.js';
import { TwoLevelIterator } from '../base/two-level-iterator.js';
import { Block } from './block.js';
import { decodeBlock } from './block-decode.js';
import { BlockIndex } from './block-index.js';
import { BlockCache } from './block-cache.js';
import { type BlockHandle, decodeBlockHandle } from './block-handle.js';
import { BloomFilter } from './bloom-filter.js';
import {
  BLOCK_TRAILER_BYTES, FOOTER_BYTES, FOOTER_HANDLES_BYTES, FULL_FILTER_META_NAME, PROPERTIES_META_NAME,
  RANGE_DEL_META_NAME, TABLE_MAGIC_HI, TABLE_MAGIC_LO,
} from './format.js';
import type { RangeTombstone } from '../base/range-tombstone.js';
import { type TableProperties, decodeProperties } from './table-properties.js';
import { ReadaheadBlocks } from './readahead-blocks.js';

export interface TableReaderOptions {
  cache: BlockCache;
  /** Skip reading the bloom filter (compaction inputs are scanned, never probed). */
  skipFilter?: boolean;
}

/** The newest entry of a key found in a table. */
export interface TableHit {
  kind: ValueKind;
  sequence: number;
  /** A copy the caller may keep. */
  value: Uint8Array;
}

const decoder = new TextDecoder();

export class TableReader {
  readonly path: string;
  readonly fileSize: number;
  readonly properties: Partial<TableProperties>;
  /** Range tombstones of the table (read at open: tables hold few). */
  readonly rangeTombstones: readonly RangeTombstone[];
  readonly #file: RandomAccessFile;
  readonly #cache: BlockCache;
  readonly #cacheId: number;
  readonly #index: BlockIndex;
  readonly #filter: BloomFilter | undefined;
  #scratch = new Uint8Array(16 * 1024);
  #closed = false;
  /** The opener holds one reference; iterators take more so eviction never closes under them. */
  #refs = 1;

  private constructor(file: RandomAccessFile, options: TableReaderOptions) {
    this.#file = file;
    this.path = file.path;
    this.fileSize = file.size;
    this.#cache = options.cache;
    this.#cacheId = options.cache.newId();
    const { metaHandle, indexHandle } = this.#readFooter();
    this.#index = new BlockIndex(this.#readBlock(indexHandle, false));
    const meta = this.#readMeta(metaHandle, options.skipFilter === true);
    this.#filter = meta.filter;
    this.properties = meta.properties;
    this.rangeTombstones = meta.rangeTombstones;
  }

  static open(fs: FileSystem, path: string, options: TableReaderOptions): TableReader {
    const file = fs.openRandomAccess(path);
    try {
      return new TableReader(file, options);
    } catch (err) {
      file.close();
      throw CorruptionError.inFile(err, path);
    }
  }

  #corrupt(message: string, offset?: number): CorruptionError {
    return new CorruptionError(message, { file: this.path, offset });
  }

  #readFooter(): { metaHandle: BlockHandle; indexHandle: BlockHandle } {
    if (this.fileSize < FOOTER_BYTES) throw this.#corrupt(`file too short to be a table (${this.fileSize} bytes)`, 0);
    const footer = new Uint8Array(FOOTER_BYTES);
    const footerOffset = this.fileSize - FOOTER_BYTES;
    if (this.#file.read(footer, 0, FOOTER_BYTES, footerOffset) !== FOOTER_BYTES) throw this.#corrupt('short read of footer', footerOffset);
    const lo = decodeFixed32(footer, FOOTER_HANDLES_BYTES);
    const hi = decodeFixed32(footer, FOOTER_HANDLES_BYTES + 4);
    if (lo !== TABLE_MAGIC_LO || hi !== TABLE_MAGIC_HI) throw this.#corrupt('bad table magic number', footerOffset + FOOTER_HANDLES_BYTES);
    const cur = { pos: 0 };
    try {
      const metaHandle = decodeBlockHandle(footer, cur, FOOTER_HANDLES_BYTES);
      const indexHandle = decodeBlockHandle(footer, cur, FOOTER_HANDLES_BYTES);
      return { metaHandle, indexHandle };
    } catch (err) {
      throw new CorruptionError('bad block handle in footer', { file: this.path, offset: footerOffset }, { cause: err });
    }
  }

  #readMeta(handle: BlockHandle, skipFilter: boolean): { filter: BloomFilter | undefined; properties: Partial<TableProperties>; rangeTombstones: RangeTombstone[] } {
    const meta = this.#readBlock(handle, false);
    const it = meta.iterator(compareBytesRange);
    let filter: BloomFilter | undefined;
    let properties: Partial<TableProperties> = {};
    let rangeTombstones: RangeTombstone[] = [];
    for (it.seekToFirst(); it.valid(); it.next()) {
      const name = decoder.decode(it.key());
      const h = decodeBlockHandle(it.value(), { pos: 0 });
      if (name === FULL_FILTER_META_NAME && !skipFilter) filter = new BloomFilter(this.#readBlockContents(h).slice());
      else if (name === PROPERTIES_META_NAME) properties = decodeProperties(this.#readBlockContents(h).slice(), this.path, h.offset);
      else if (name === RANGE_DEL_META_NAME) rangeTombstones = this.#readRangeTombstones(h);
    }
    return { filter, properties, rangeTombstones };
  }

  #readRangeTombstones(handle: BlockHandle): RangeTombstone[] {
    const block = new Block(this.#readBlockContents(handle).slice(), this.path, handle.offset);
    const it = block.iterator(compareInternalKeysRange);
    const out: RangeTombstone[] = [];
    for (it.seekToFirst(); it.valid(); it.next()) {
      const k = it.key();
      const end = k.length - TRAILER_BYTES;
      if (end < 0 || k[end] !== ValueKind.RangeDeletion) throw this.#corrupt('bad entry in range-deletion block', handle.offset);
      out.push({ start: k.slice(0, end), end: it.value().slice(), seq: decodeTrailerSequence(k, end) });
    }
    return out;
  }

  /**
   * Reads, verifies and decompresses a block. The result is a view into the reused scratch
   * buffer when the block is stored uncompressed: copy it before the next read.
   */
  #readBlockContents(handle: BlockHandle): Uint8Array {
    const total = handle.size + BLOCK_TRAILER_BYTES;
    if (handle.offset + total > this.fileSize) throw this.#corrupt('block handle past end of file', handle.offset);
    if (this.#scratch.length < total) this.#scratch = new Uint8Array(Math.max(total, this.#scratch.length * 2));
    const buf = this.#scratch;
    if (this.#file.read(buf, 0, total, handle.offset) !== total) throw this.#corrupt('short read of block', handle.offset);
    return decodeBlock(buf, 0, handle, this.path);
  }

  #readBlock(handle: BlockHandle, cacheable: boolean): Block {
    const key = BlockCache.key(this.#cacheId, handle.offset);
    if (cacheable) {
      const hit = this.#cache.get(key);
      if (hit !== undefined) return hit;
    }
    let contents = this.#readBlockContents(handle);
    if (contents.buffer === this.#scratch.buffer) contents = contents.slice();
    const block = new Block(contents, this.path, handle.offset);
    if (cacheable) this.#cache.insert(key, block);
    return block;
  }

  /** @internal the decoded index block. */
  get index(): BlockIndex {
    return this.#index;
  }

  /** @internal reads data block `i` of the index. */
  dataBlock(i: number): Block {
    return this.#readBlock({ offset: this.#index.blockOffset(i), size: this.#index.blockSize(i) }, true);
  }

  /** False when the table certainly lacks `userKey`. */
  mayContain(userKey: Uint8Array): boolean {
    return this.#filter === undefined || this.#filter.mayContain(userKey);
  }

  /**
   * The first entry >= `lookup` (an internal key (userKey, readSequence, seek kind)) when its
   * user key equals `userKey`: the newest version visible at the read sequence.
   */
  get(lookup: Uint8Array, userKey: Uint8Array): TableHit | undefined {
    if (this.#closed) throw new AssertionError('table reader used after close');
    if (!this.mayContain(userKey)) return undefined;
    for (let i = this.#index.seek(lookup); i < this.#index.count; i++) {
      const it = this.dataBlock(i).iterator(compareInternalKeysRange);
      it.seek(lookup);
      if (it.valid()) {
        const key = it.key();
        const userEnd = key.length - TRAILER_BYTES;
        if (compareBytesRange(key, 0, userEnd, userKey, 0, userKey.length) !== 0) return undefined;
        return { kind: key[userEnd]! as ValueKind, sequence: decodeTrailerSequence(key, userEnd), value: it.valueCopy() };
      }
      // The separator can sort after the block's last key; the entry is then in the next block.
    }
    return undefined;
  }

  /**
   * A cursor for compactions: data blocks are read in file order in chunks of `readaheadBytes`,
   * decoded into reused buffers, and never enter the block cache (a compaction reads each block
   * once and must not evict the read path's hot blocks). It holds a reference until its close().
   */
  scanIterator(readaheadBytes: number): InternalIterator {
    const blocks = new ReadaheadBlocks(this.#file, this.#index, readaheadBytes);
    return this.#cursor((i) => blocks.open(i));
  }

  /** A cursor over the table (the index picks data blocks); it holds a reference until its close(). */
  iterator(): InternalIterator {
    return this.#cursor((i) => this.dataBlock(i).iterator(compareInternalKeysRange));
  }

  /** A cursor over the data blocks `open` gives, picked by the index; holds a reference. */
  #cursor(open: (i: number) => InternalIterator): InternalIterator {
    this.ref();
    const index = this.#index;
    return new TwoLevelIterator({ count: index.count, find: (target) => index.seek(target), open }, () => this.close());
  }

  ref(): void {
    this.#refs++;
  }

  /** Drops one reference; the file closes when the last one goes. */
  close(): void {
    if (this.#closed || --this.#refs > 0) return;
    this.#closed = true;
    this.#cache.eraseTable(this.#cacheId, this.fileSize);
    this.#file.close();
  }
}
