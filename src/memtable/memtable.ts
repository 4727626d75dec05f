/**
 * The memtable: a skiplist of internal keys (user key ascending, sequence descending) whose
 * nodes live in one SharedArrayBuffer arena (layout in ./format.ts). Inserting allocates no JS
 * objects; a frozen memtable is handed to a flush worker by sharing the buffer.
 *
 * Single writer (the main thread). Readers on the main thread see every completed insert;
 * a worker only ever reads a memtable that is immutable.
 */
import { compareBytesRange } from '../base/comparator.js';
import {
  KIND_FOR_SEEK, TRAILER_BYTES, ValueKind, compareInternalKeysRange, decodeTrailerSequence, encodeTrailer,
} from '../base/internal-key.js';
import type { InternalIterator } from '../base/iterator.js';
import type { RangeTombstone } from '../base/range-tombstone.js';
import {
  ARENA_HEADER_BYTES, BRANCHING, HDR_ENTRY_COUNT, HDR_MAX_HEIGHT, HDR_USED_BYTES, HEAD_OFFSET, MAX_HEIGHT, NIL,
  NODE_FIXED_BYTES, NODE_HEIGHT, NODE_KEY_LEN, NODE_NEXT, NODE_VALUE_LEN,
} from './format.js';

/** Result of a point lookup: the newest entry for the key visible at the read sequence. */
export interface MemTableHit {
  kind: ValueKind;
  /** A copy of the value (empty for deletions). */
  value: Uint8Array;
  sequence: number;
}

const HEAD_BYTES = NODE_FIXED_BYTES + MAX_HEIGHT * 4;

/**
 * Compares the internal key of `node` with the internal key whose user part is
 * key[keyStart, keyUserEnd) and whose 8-byte trailer follows it. Written as one small loop
 * over locals so V8 inlines it into the skiplist searches: inserts do ~37 of these each.
 */
function compareNodeTo(u8: Uint8Array, i32: Int32Array, node: number, key: Uint8Array, keyStart: number, keyUserEnd: number): number {
  const n = node >> 2;
  const nodeKeyStart = node + NODE_FIXED_BYTES + i32[n + NODE_HEIGHT]! * 4;
  const nodeUserEnd = nodeKeyStart + i32[n + NODE_KEY_LEN]! - TRAILER_BYTES;
  const aLen = nodeUserEnd - nodeKeyStart;
  const bLen = keyUserEnd - keyStart;
  const len = aLen < bLen ? aLen : bLen;
  for (let i = 0; i < len; i++) {
    const d = u8[nodeKeyStart + i]! - key[keyStart + i]!;
    if (d !== 0) return d;
  }
  if (aLen !== bLen) return aLen - bLen;
  // Equal user keys: the larger trailer (newer sequence) sorts first.
  for (let i = 7; i >= 0; i--) {
    const d = key[keyUserEnd + i]! - u8[nodeUserEnd + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Short copies are faster as a loop than through TypedArray.set's native call. */
function copyBytes(dst: Uint8Array, dstStart: number, src: Uint8Array, srcStart: number, length: number): void {
  if (length > 32) {
    dst.set(src.subarray(srcStart, srcStart + length), dstStart);
    return;
  }
  for (let i = 0; i < length; i++) dst[dstStart + i] = src[srcStart + i]!;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Bytes a node for this entry occupies in the arena. */
export function nodeBytes(userKeyLength: number, valueLength: number, height = MAX_HEIGHT): number {
  return align4(NODE_FIXED_BYTES + height * 4 + userKeyLength + TRAILER_BYTES + valueLength);
}

/** Smallest arena that holds one entry of this size (for entries larger than writeBufferSize). */
export function arenaBytesFor(userKeyLength: number, valueLength: number): number {
  return ARENA_HEADER_BYTES + HEAD_BYTES + nodeBytes(userKeyLength, valueLength);
}

export class MemTable {
  readonly buffer: SharedArrayBuffer;
  readonly #u8: Uint8Array;
  readonly #i32: Int32Array;
  /** Search path of the last insert, reused so inserts allocate nothing. */
  readonly #prev = new Int32Array(MAX_HEIGHT);
  /** Lookup key (user key + seek trailer), reused by get(). */
  #lookup = new Uint8Array(64);
  #rng = 0x2545f491;
  /** File number of the WAL holding this memtable's writes (0 when the WAL is off). */
  logNumber = 0;
  /** Number of live readers (iterators) pinning this memtable. */
  refs = 0;
  /**
   * Range tombstones added to this memtable (main thread only). They are also skiplist entries
   * of kind RangeDeletion (key = start, value = end), which is how a flush worker sees them.
   */
  readonly rangeTombstones: RangeTombstone[] = [];

  private constructor(buffer: SharedArrayBuffer, fresh: boolean) {
    this.buffer = buffer;
    this.#u8 = new Uint8Array(buffer);
    this.#i32 = new Int32Array(buffer);
    if (fresh) this.#reset();
  }

  /** A new, empty memtable over an arena of `capacityBytes`. */
  static create(capacityBytes: number, reuse?: SharedArrayBuffer): MemTable {
    const cap = align4(Math.max(capacityBytes, ARENA_HEADER_BYTES + HEAD_BYTES + 64));
    const buffer = reuse && reuse.byteLength >= cap ? reuse : new SharedArrayBuffer(cap);
    return new MemTable(buffer, true);
  }

  /** A read view of a memtable another thread filled (the flush worker's side). */
  static fromShared(buffer: SharedArrayBuffer): MemTable {
    return new MemTable(buffer, false);
  }

  #reset(): void {
    this.#i32[HDR_MAX_HEIGHT] = 1;
    this.#i32[HDR_ENTRY_COUNT] = 0;
    this.#i32[HDR_USED_BYTES] = ARENA_HEADER_BYTES + HEAD_BYTES;
    const h = HEAD_OFFSET >> 2;
    this.#i32[h + NODE_KEY_LEN] = 0;
    this.#i32[h + NODE_VALUE_LEN] = 0;
    this.#i32[h + NODE_HEIGHT] = MAX_HEIGHT;
    this.#i32.fill(NIL, h + NODE_NEXT, h + NODE_NEXT + MAX_HEIGHT);
  }

  get capacityBytes(): number {
    return this.buffer.byteLength;
  }

  /** Arena bytes in use: what the memtable accounts against writeBufferSize. */
  get usedBytes(): number {
    return this.#i32[HDR_USED_BYTES]!;
  }

  get entryCount(): number {
    return this.#i32[HDR_ENTRY_COUNT]!;
  }

  get isEmpty(): boolean {
    return this.entryCount === 0;
  }

  /** True when an entry of these sizes fits in the remaining arena. */
  fits(userKeyLength: number, valueLength: number): boolean {
    return this.usedBytes + nodeBytes(userKeyLength, valueLength) <= this.buffer.byteLength;
  }

  #randomHeight(): number {
    // xorshift32: deterministic, no allocation
    let x = this.#rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#rng = x;
    let height = 1;
    let bits = x >>> 0;
    while (height < MAX_HEIGHT && bits % BRANCHING === 0) {
      height++;
      bits = Math.floor(bits / BRANCHING);
    }
    return height;
  }

  /**
   * Inserts (key, seq, kind) → value. Requires: fits(key.length, value.length), and no entry
   * with the same sequence and kind exists for this key.
   */
  add(seq: number, kind: ValueKind, key: Uint8Array, value: Uint8Array): void {
    this.addFrom(seq, kind, key, 0, key.length, value, 0, value.length);
  }

  /** add() with key = keySrc[keyStart, keyEnd) and value = valueSrc[valueStart, valueEnd): no views allocated. */
  addFrom(
    seq: number, kind: ValueKind,
    keySrc: Uint8Array, keyStart: number, keyEnd: number,
    valueSrc: Uint8Array, valueStart: number, valueEnd: number,
  ): void {
    const height = this.#randomHeight();
    const keyLength = keyEnd - keyStart;
    const valueLength = valueEnd - valueStart;
    const ikeyLen = keyLength + TRAILER_BYTES;
    const node = this.#i32[HDR_USED_BYTES]!;
    const size = align4(NODE_FIXED_BYTES + height * 4 + ikeyLen + valueLength);
    this.#i32[HDR_USED_BYTES] = node + size;
    const n = node >> 2;
    this.#i32[n + NODE_KEY_LEN] = ikeyLen;
    this.#i32[n + NODE_VALUE_LEN] = valueLength;
    this.#i32[n + NODE_HEIGHT] = height;
    const keyStartInArena = node + NODE_FIXED_BYTES + height * 4;
    copyBytes(this.#u8, keyStartInArena, keySrc, keyStart, keyLength);
    encodeTrailer(this.#u8, keyStartInArena + keyLength, seq, kind);
    copyBytes(this.#u8, keyStartInArena + ikeyLen, valueSrc, valueStart, valueLength);
    const keyStart2 = keyStartInArena;
    if (kind === ValueKind.RangeDeletion) {
      this.rangeTombstones.push({
        start: keySrc.slice(keyStart, keyEnd), end: valueSrc.slice(valueStart, valueEnd), seq,
      });
    }

    this.#findGreaterOrEqualNode(keyStart2, keyStart2 + ikeyLen, this.#prev);
    let maxHeight = this.#i32[HDR_MAX_HEIGHT]!;
    if (height > maxHeight) {
      for (let level = maxHeight; level < height; level++) this.#prev[level] = HEAD_OFFSET;
      this.#i32[HDR_MAX_HEIGHT] = height;
      maxHeight = height;
    }
    for (let level = 0; level < height; level++) {
      const p = (this.#prev[level]! >> 2) + NODE_NEXT + level;
      this.#i32[n + NODE_NEXT + level] = this.#i32[p]!;
      this.#i32[p] = node;
    }
    this.#i32[HDR_ENTRY_COUNT] = this.#i32[HDR_ENTRY_COUNT]! + 1;
  }

  #keyStart(node: number): number {
    return node + NODE_FIXED_BYTES + this.#i32[(node >> 2) + NODE_HEIGHT]! * 4;
  }

  #next(node: number, level: number): number {
    return this.#i32[(node >> 2) + NODE_NEXT + level]!;
  }

  /** First node >= the arena key at [start, end); fills `prev` with the path when given. */
  #findGreaterOrEqualNode(start: number, end: number, prev?: Int32Array): number {
    const u8 = this.#u8;
    const i32 = this.#i32;
    const userEnd = end - TRAILER_BYTES;
    let x = HEAD_OFFSET;
    let level = i32[HDR_MAX_HEIGHT]! - 1;
    for (;;) {
      const next = i32[(x >> 2) + NODE_NEXT + level]!;
      if (next !== NIL && compareNodeTo(u8, i32, next, u8, start, userEnd) < 0) {
        x = next;
      } else {
        if (prev) prev[level] = x;
        if (level === 0) return next;
        level--;
      }
    }
  }

  /** First node >= the internal key in `lookup` (user key followed by its trailer). */
  #seekLookup(lookup: Uint8Array, userLength: number): number {
    const u8 = this.#u8;
    const i32 = this.#i32;
    let x = HEAD_OFFSET;
    let level = i32[HDR_MAX_HEIGHT]! - 1;
    for (;;) {
      const next = i32[(x >> 2) + NODE_NEXT + level]!;
      if (next !== NIL && compareNodeTo(u8, i32, next, lookup, 0, userLength) < 0) {
        x = next;
      } else {
        if (level === 0) return next;
        level--;
      }
    }
  }

  /**
   * The newest point entry (value, deletion or merge operand) for `userKey` with sequence
   * <= `seq`, or undefined. Range-deletion entries are skipped: reads consult them separately.
   */
  get(userKey: Uint8Array, seq: number): MemTableHit | undefined {
    const need = userKey.length + TRAILER_BYTES;
    if (this.#lookup.length < need) this.#lookup = new Uint8Array(need * 2);
    const lookup = this.#lookup;
    lookup.set(userKey, 0);
    encodeTrailer(lookup, userKey.length, seq, KIND_FOR_SEEK);
    for (let node = this.#seekLookup(lookup, userKey.length); node !== NIL; node = this.#next(node, 0)) {
      const ks = this.#keyStart(node);
      const ikeyLen = this.#i32[(node >> 2) + NODE_KEY_LEN]!;
      const userEnd = ks + ikeyLen - TRAILER_BYTES;
      if (compareBytesRange(this.#u8, ks, userEnd, userKey, 0, userKey.length) !== 0) return undefined;
      const kind = this.#u8[userEnd]! as ValueKind;
      if (kind === ValueKind.RangeDeletion) continue;
      const valueLen = this.#i32[(node >> 2) + NODE_VALUE_LEN]!;
      return {
        kind,
        sequence: decodeTrailerSequence(this.#u8, userEnd),
        value: this.#u8.slice(ks + ikeyLen, ks + ikeyLen + valueLen),
      };
    }
    return undefined;
  }

  iterator(): MemTableIterator {
    return new MemTableIterator(this, this.#u8, this.#i32);
  }

  /** @internal used by MemTableIterator */
  findGreaterOrEqual(target: Uint8Array): number {
    return this.#seekInternal(target, false);
  }

  /** @internal last node < target (HEAD_OFFSET when none) */
  findLessThan(target: Uint8Array): number {
    return this.#seekInternal(target, true);
  }

  /** @internal last node of the list (HEAD_OFFSET when empty) */
  findLast(): number {
    let x = HEAD_OFFSET;
    let level = this.#i32[HDR_MAX_HEIGHT]! - 1;
    for (;;) {
      const next = this.#next(x, level);
      if (next !== NIL) x = next;
      else if (level === 0) return x;
      else level--;
    }
  }

  #seekInternal(target: Uint8Array, lessThan: boolean): number {
    let x = HEAD_OFFSET;
    let level = this.#i32[HDR_MAX_HEIGHT]! - 1;
    for (;;) {
      const next = this.#next(x, level);
      if (next !== NIL && compareNodeTo(this.#u8, this.#i32, next, target, 0, target.length - TRAILER_BYTES) < 0) {
        x = next;
      } else {
        if (level === 0) return lessThan ? x : next;
        level--;
      }
    }
  }
}

/** Cursor over a memtable in internal-key order. */
export class MemTableIterator implements InternalIterator {
  #node = NIL;
  readonly #table: MemTable;
  readonly #u8: Uint8Array;
  readonly #i32: Int32Array;

  constructor(table: MemTable, u8: Uint8Array, i32: Int32Array) {
    this.#table = table;
    this.#u8 = u8;
    this.#i32 = i32;
  }

  valid(): boolean {
    return this.#node !== NIL;
  }

  seekToFirst(): void {
    this.#node = this.#i32[(HEAD_OFFSET >> 2) + NODE_NEXT]!;
  }

  seekToLast(): void {
    const last = this.#table.findLast();
    this.#node = last === HEAD_OFFSET ? NIL : last;
  }

  seek(target: Uint8Array): void {
    this.#node = this.#table.findGreaterOrEqual(target);
  }

  seekForPrev(target: Uint8Array): void {
    this.seek(target);
    if (!this.valid()) {
      this.seekToLast();
      return;
    }
    const ks = this.#keyStart();
    const c = compareInternalKeysRange(this.#u8, ks, ks + this.#keyLength(), target, 0, target.length);
    if (c > 0) this.prev();
  }

  next(): void {
    this.#node = this.#i32[(this.#node >> 2) + NODE_NEXT]!;
  }

  prev(): void {
    const before = this.#table.findLessThan(this.key());
    this.#node = before === HEAD_OFFSET ? NIL : before;
  }

  #keyStart(): number {
    return this.#node + NODE_FIXED_BYTES + this.#i32[(this.#node >> 2) + NODE_HEIGHT]! * 4;
  }

  #keyLength(): number {
    return this.#i32[(this.#node >> 2) + NODE_KEY_LEN]!;
  }

  key(): Uint8Array {
    const ks = this.#keyStart();
    return this.#u8.subarray(ks, ks + this.#keyLength());
  }

  value(): Uint8Array {
    const vs = this.#keyStart() + this.#keyLength();
    return this.#u8.subarray(vs, vs + this.#i32[(this.#node >> 2) + NODE_VALUE_LEN]!);
  }

  close(): void {
    this.#node = NIL;
  }
}
