/**
 * Writes one table file in LevelDB's table format (docs/format/sstable.md):
 *
 *   data block* | filter meta block | properties meta block | metaindex block | index block | footer
 *
 * Every block is followed by a 5-byte trailer (compression type, masked CRC32C of the block
 * bytes plus the type byte). Keys are internal keys added in sorted order. Output is gathered
 * in one reused buffer and appended to the file in large writes.
 */
import { ByteWriter } from '../base/coding.js';
import { shortSuccessor, shortestSeparator, compareBytes } from '../base/comparator.js';
import { crc32c, maskCrc } from '../base/crc32c.js';
import { assert } from '../base/errors.js';
import {
  MAX_SEQUENCE, TRAILER_BYTES, ValueKind, compareInternalKeys, decodeTrailerSequence, makeInternalKey,
} from '../base/internal-key.js';
import type { WritableFile } from '../fs/file-system.js';
import { BlockBuilder, commonPrefixLength } from './block-builder.js';
import { type BlockHandle, encodeBlockHandle } from './block-handle.js';
import { BloomFilterBuilder } from './bloom-filter.js';
import { CompressionType, codecFor, compressionName } from './compression.js';
import {
  BLOCK_TRAILER_BYTES, FOOTER_BYTES, FOOTER_HANDLES_BYTES, FULL_FILTER_META_NAME, MAX_BLOCK_HANDLE_BYTES,
  PROPERTIES_META_NAME, PROP, RANGE_DEL_META_NAME, TABLE_MAGIC_HI, TABLE_MAGIC_LO,
} from './format.js';
import type { RangeTombstone } from '../base/range-tombstone.js';
import type { TableProperties } from './table-properties.js';
import { encodeProperties } from './table-properties.js';

export interface TableBuilderOptions {
  blockSize: number;
  blockRestartInterval: number;
  /** 0 disables the filter. */
  bloomBitsPerKey: number;
  compression: CompressionType;
}

export interface TableBuildResult {
  fileSize: number;
  smallest: Uint8Array;
  largest: Uint8Array;
  properties: TableProperties;
}

/** LevelDB's separator trailer: (kMaxSequenceNumber, kValueTypeForSeek). */
const SEPARATOR_TRAILER = Uint8Array.of(ValueKind.Value, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/** Appends to the file once this much output is gathered. */
const WRITE_CHUNK_BYTES = 256 * 1024;

const encoder = new TextEncoder();

export class TableBuilder {
  readonly #file: WritableFile;
  readonly #options: TableBuilderOptions;
  readonly #data: BlockBuilder;
  readonly #index = new BlockBuilder(1);
  readonly #filter: BloomFilterBuilder | undefined;
  readonly #out = new ByteWriter(WRITE_CHUNK_BYTES + 64 * 1024);
  readonly #handleScratch = new Uint8Array(MAX_BLOCK_HANDLE_BYTES);
  readonly #trailer = new Uint8Array(BLOCK_TRAILER_BYTES);
  #offset = 0;
  #smallest: Uint8Array | undefined;
  #pendingHandle: BlockHandle | undefined;
  #finished = false;
  readonly #rangeTombstones: RangeTombstone[] = [];
  readonly #props: TableProperties;

  constructor(file: WritableFile, options: TableBuilderOptions) {
    this.#file = file;
    this.#options = options;
    this.#data = new BlockBuilder(options.blockRestartInterval);
    this.#filter = options.bloomBitsPerKey > 0 ? new BloomFilterBuilder(options.bloomBitsPerKey) : undefined;
    this.#props = {
      numEntries: 0, rawKeyBytes: 0, rawValueBytes: 0, dataBytes: 0, indexBytes: 0, filterBytes: 0,
      numDataBlocks: 0, numDeletions: 0, numMergeOperands: 0, numRangeDeletions: 0,
      compression: compressionName(options.compression), smallestSeqno: Number.MAX_SAFE_INTEGER, largestSeqno: 0,
    };
  }

  get entryCount(): number {
    return this.#props.numEntries;
  }

  /** Bytes the file will have if finished now (roughly). */
  get estimatedFileSize(): number {
    return this.#offset + this.#out.length + this.#data.estimatedSize;
  }

  /**
   * Requires: ikey sorts after every key added before (checked: an assertion error otherwise).
   * `value` may be reused by the caller.
   */
  add(ikey: Uint8Array, value: Uint8Array): void {
    assert(!this.#finished, 'add after finish');
    const userLength = ikey.length - TRAILER_BYTES;
    let common = 0;
    let sameUserKey = false;
    if (this.#props.numEntries > 0) {
      // The data block builder holds the previous key (across blocks): compare with it once,
      // and reuse the common prefix for the order check, the filter and prefix compression.
      const last = this.#data.lastKey();
      common = commonPrefixLength(last, last.length, ikey);
      sameUserKey = last.length === ikey.length && common >= userLength;
      assert(inOrder(last, ikey, common), 'table keys must be added in order');
      if (this.#pendingHandle !== undefined) {
        this.#addIndexEntry(this.#separator(last, ikey), this.#pendingHandle);
        this.#pendingHandle = undefined;
      }
    } else {
      this.#smallest = ikey.slice();
    }
    this.#count(ikey, value, userLength, sameUserKey);
    this.#data.add(ikey, value, common);
    if (this.#data.estimatedSize >= this.#options.blockSize) this.#flushDataBlock();
  }

  #count(ikey: Uint8Array, value: Uint8Array, userLength: number, sameUserKey: boolean): void {
    const p = this.#props;
    const kind = ikey[userLength]!;
    const seq = decodeTrailerSequence(ikey, userLength);
    p.numEntries++;
    p.rawKeyBytes += ikey.length;
    p.rawValueBytes += value.length;
    if (kind === ValueKind.Deletion) p.numDeletions++;
    else if (kind === ValueKind.Merge) p.numMergeOperands++;
    else if (kind === ValueKind.RangeDeletion) p.numRangeDeletions++;
    if (seq < p.smallestSeqno) p.smallestSeqno = seq;
    if (seq > p.largestSeqno) p.largestSeqno = seq;
    // Consecutive versions of one user key add one filter entry.
    if (this.#filter && !sameUserKey) this.#filter.addKeyRange(ikey, 0, userLength);
  }

  /** Whether key[0, userLength) is the user key of the last entry added (false before the first). */
  isLastUserKey(key: Uint8Array, userLength: number): boolean {
    if (this.#props.numEntries === 0) return false;
    const last = this.#data.lastKey();
    if (last.length - TRAILER_BYTES !== userLength) return false;
    for (let i = 0; i < userLength; i++) if (last[i] !== key[i]) return false;
    return true;
  }

  /** Records a range tombstone for the range-deletion meta block (any order). */
  addRangeTombstone(t: RangeTombstone): void {
    assert(!this.#finished, 'addRangeTombstone after finish');
    this.#rangeTombstones.push({ start: t.start.slice(), end: t.end.slice(), seq: t.seq });
    const p = this.#props;
    p.numRangeDeletions++;
    if (t.seq < p.smallestSeqno) p.smallestSeqno = t.seq;
    if (t.seq > p.largestSeqno) p.largestSeqno = t.seq;
  }

  /** A short internal key k with last <= k < next (LevelDB's FindShortestSeparator). */
  #separator(last: Uint8Array, next: Uint8Array): Uint8Array {
    const lastUser = last.subarray(0, last.length - TRAILER_BYTES);
    const sep = shortestSeparator(lastUser, next.subarray(0, next.length - TRAILER_BYTES));
    if (sep.length < lastUser.length && compareBytes(lastUser, sep) < 0) return withSeparatorTrailer(sep);
    return last;
  }

  #addIndexEntry(key: Uint8Array, handle: BlockHandle): void {
    const n = encodeBlockHandle(this.#handleScratch, 0, handle);
    this.#index.add(key, this.#handleScratch.subarray(0, n));
  }

  #flushDataBlock(): void {
    if (this.#data.isEmpty) return;
    const raw = this.#data.finish();
    this.#pendingHandle = this.#writeBlock(raw, this.#options.compression);
    this.#props.dataBytes += this.#pendingHandle.size + BLOCK_TRAILER_BYTES;
    this.#props.numDataBlocks++;
    this.#data.reset();
  }

  /** Compresses (when it saves at least 1/8) and writes a block with its trailer. */
  #writeBlock(raw: Uint8Array, compression: CompressionType): BlockHandle {
    let contents = raw;
    let type = CompressionType.None;
    if (compression !== CompressionType.None) {
      const compressed = codecFor(compression).compress(raw);
      if (compressed !== undefined && compressed.length < raw.length - raw.length / 8) {
        contents = compressed;
        type = compression;
      }
    }
    return this.#writeRawBlock(contents, type);
  }

  #writeRawBlock(contents: Uint8Array, type: CompressionType): BlockHandle {
    const handle = { offset: this.#offset + this.#out.length, size: contents.length };
    this.#out.bytes(contents);
    this.#trailer[0] = type;
    const crc = crc32c(this.#trailer.subarray(0, 1), crc32c(contents));
    const masked = maskCrc(crc);
    this.#trailer[1] = masked & 0xff;
    this.#trailer[2] = (masked >>> 8) & 0xff;
    this.#trailer[3] = (masked >>> 16) & 0xff;
    this.#trailer[4] = (masked >>> 24) & 0xff;
    this.#out.bytes(this.#trailer);
    if (this.#out.length >= WRITE_CHUNK_BYTES) this.#drain();
    return handle;
  }

  #drain(): void {
    if (this.#out.length === 0) return;
    this.#file.append(this.#out.view());
    this.#offset += this.#out.length;
    this.#out.reset();
  }

  /** Writes filter, properties, metaindex, index and footer. Requires: at least one entry. */
  finish(): TableBuildResult {
    assert(!this.#finished, 'finish twice');
    assert(this.#props.numEntries > 0 || this.#rangeTombstones.length > 0, 'a table needs at least one entry');
    this.#flushDataBlock();
    this.#finished = true;
    const meta = new BlockBuilder(1);
    const metaEntries: [string, BlockHandle][] = [];
    if (this.#filter) {
      const filter = this.#filter.finish();
      metaEntries.push([FULL_FILTER_META_NAME, this.#writeRawBlock(filter, CompressionType.None)]);
      this.#props.filterBytes = filter.length;
    }
    if (this.#pendingHandle !== undefined) {
      this.#addIndexEntry(withSeparatorSuccessor(this.#data.lastKey()), this.#pendingHandle);
      this.#pendingHandle = undefined;
    }
    const rangeDel = this.#rangeDeletionBlock();
    if (rangeDel !== undefined) metaEntries.push([RANGE_DEL_META_NAME, this.#writeRawBlock(rangeDel, CompressionType.None)]);
    const index = this.#index.finish();
    this.#props.indexBytes = index.length;
    metaEntries.push([PROPERTIES_META_NAME, this.#writeRawBlock(encodeProperties(this.#props), CompressionType.None)]);
    metaEntries.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (const [name, handle] of metaEntries) {
      const n = encodeBlockHandle(this.#handleScratch, 0, handle);
      meta.add(encoder.encode(name), this.#handleScratch.subarray(0, n));
    }
    const metaHandle = this.#writeRawBlock(meta.finish(), CompressionType.None);
    const indexHandle = this.#writeBlock(index, CompressionType.None);
    this.#writeFooter(metaHandle, indexHandle);
    this.#drain();
    const { smallest, largest } = this.#bounds();
    return { fileSize: this.#offset, smallest, largest, properties: this.#props };
  }

  #rangeDeletionBlock(): Uint8Array | undefined {
    if (this.#rangeTombstones.length === 0) return undefined;
    const entries = this.#rangeTombstones.map((t) => ({ key: makeInternalKey(t.start, t.seq, ValueKind.RangeDeletion), end: t.end }));
    entries.sort((a, b) => compareInternalKeys(a.key, b.key));
    const block = new BlockBuilder(1);
    for (const e of entries) block.add(e.key, e.end);
    return block.finish().slice();
  }

  /**
   * Smallest and largest internal keys, widened to cover range tombstones. A tombstone's end is
   * exclusive: its bound is the sentinel (end, MAX_SEQUENCE, RangeDeletion), which sorts before
   * every real entry of `end`, so the next file of a level may start at that user key.
   */
  #bounds(): { smallest: Uint8Array; largest: Uint8Array } {
    let smallest = this.#smallest;
    let largest: Uint8Array | undefined = this.#props.numEntries > 0 ? this.#data.lastKey().slice() : undefined;
    for (const t of this.#rangeTombstones) {
      const lo = makeInternalKey(t.start, t.seq, ValueKind.RangeDeletion);
      const hi = makeInternalKey(t.end, MAX_SEQUENCE, ValueKind.RangeDeletion);
      if (smallest === undefined || compareInternalKeys(lo, smallest) < 0) smallest = lo;
      if (largest === undefined || compareInternalKeys(hi, largest) > 0) largest = hi;
    }
    return { smallest: smallest!, largest: largest! };
  }

  #writeFooter(metaHandle: BlockHandle, indexHandle: BlockHandle): void {
    const footer = new Uint8Array(FOOTER_BYTES);
    let pos = encodeBlockHandle(footer, 0, metaHandle);
    pos = encodeBlockHandle(footer, pos, indexHandle);
    const view = new DataView(footer.buffer);
    view.setUint32(FOOTER_HANDLES_BYTES, TABLE_MAGIC_LO, true);
    view.setUint32(FOOTER_HANDLES_BYTES + 4, TABLE_MAGIC_HI, true);
    this.#out.bytes(footer);
  }
}

/**
 * Whether `next` sorts after `last` in internal-key order, given the length of their common
 * byte prefix: the first differing user-key byte decides, else the shorter user key comes first,
 * else (equal user keys) the larger trailer.
 */
function inOrder(last: Uint8Array, next: Uint8Array, common: number): boolean {
  const lastUser = last.length - TRAILER_BYTES;
  const nextUser = next.length - TRAILER_BYTES;
  if (common < lastUser && common < nextUser) return next[common]! > last[common]!;
  if (lastUser !== nextUser) return nextUser > lastUser;
  return compareInternalKeys(next, last) > 0;
}

function withSeparatorTrailer(userKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(userKey.length + TRAILER_BYTES);
  out.set(userKey);
  out.set(SEPARATOR_TRAILER, userKey.length);
  return out;
}

/** Index key after the last block: a short successor of the last user key (LevelDB's FindShortSuccessor). */
function withSeparatorSuccessor(last: Uint8Array): Uint8Array {
  const user = last.subarray(0, last.length - TRAILER_BYTES);
  const succ = shortSuccessor(user);
  if (succ.length < user.length && compareBytes(user, succ) < 0) return withSeparatorTrailer(succ);
  return last;
}
