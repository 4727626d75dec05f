/**
 * An atomic group of updates, and the WAL payload format (LevelDB's WriteBatch rep, with
 * RocksDB's tags for merge and range deletion). See docs/format/record-log.md, "Write batch".
 *
 *   rep     := sequence: fixed64 LE   sequence number of the first update
 *              count:    fixed32 LE   number of updates
 *              update*
 *   update  := 0x01 varstring key varstring value         (Value, LevelDB kTypeValue)
 *            | 0x00 varstring key                         (Deletion, LevelDB kTypeDeletion)
 *            | 0x02 varstring key varstring operand       (Merge, RocksDB kTypeMerge)
 *            | 0x0F varstring begin varstring end         (RangeDeletion, RocksDB kTypeRangeDeletion)
 *   varstring := varint32 length, bytes
 *
 * Update i gets sequence `sequence + i`. The rep is built in place in one growable buffer, so
 * adding updates rarely allocates, and the WAL writes the rep as it is.
 */
import { ByteWriter, type Cursor, decodeFixed32, decodeFixed64, decodeVarint32, encodeFixed32, encodeFixed64 } from '../base/coding.js';
import { compareBytes } from '../base/comparator.js';
import { CorruptionError } from '../base/errors.js';
import { ValueKind } from '../base/internal-key.js';

/** sequence (8) + count (4). */
export const WRITE_BATCH_HEADER_SIZE = 12;

const MAX_COUNT = 0xffffffff;
const EMPTY = new Uint8Array(0);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

function checkBytes(method: string, name: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`WriteBatch.${method}: ${name} must be a Uint8Array (or Buffer), got ${describe(value)}`);
  }
}

/**
 * Receives one update as offsets into `rep` (no allocation): key is rep[keyStart, keyEnd),
 * value rep[valueStart, valueEnd) (empty for deletions; the end key for range deletions).
 */
export type RawBatchHandler = (
  kind: number, rep: Uint8Array, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number,
) => void;

export class WriteBatch {
  #w: ByteWriter;
  #count = 0;

  constructor() {
    this.#w = new ByteWriter(64);
    this.#w.length = WRITE_BATCH_HEADER_SIZE; // a fresh buffer is zeroed: sequence 0, count 0
  }

  put(key: Uint8Array, value: Uint8Array): void {
    checkBytes('put', 'key', key);
    checkBytes('put', 'value', value);
    this.#add(ValueKind.Value, key, value);
  }

  delete(key: Uint8Array): void {
    checkBytes('delete', 'key', key);
    this.#add(ValueKind.Deletion, key, undefined);
  }

  merge(key: Uint8Array, operand: Uint8Array): void {
    checkBytes('merge', 'key', key);
    checkBytes('merge', 'operand', operand);
    this.#add(ValueKind.Merge, key, operand);
  }

  /** Deletes every key k with start <= k < end (bytewise order). start == end deletes nothing. */
  deleteRange(start: Uint8Array, end: Uint8Array): void {
    checkBytes('deleteRange', 'start', start);
    checkBytes('deleteRange', 'end', end);
    if (compareBytes(start, end) > 0) throw new RangeError('WriteBatch.deleteRange: start must not be after end');
    this.#add(ValueKind.RangeDeletion, start, end);
  }

  /** Removes every update and resets the sequence to 0; keeps the buffer for reuse. */
  clear(): void {
    this.#w.buf.fill(0, 0, WRITE_BATCH_HEADER_SIZE);
    this.#w.length = WRITE_BATCH_HEADER_SIZE;
    this.#count = 0;
  }

  /** Number of updates. */
  get count(): number {
    return this.#count;
  }

  /** Size of the encoded batch in bytes (what the WAL record carries). */
  get byteSize(): number {
    return this.#w.length;
  }

  /** @internal Sequence number of the first update (assigned by the write path). */
  get sequence(): number {
    return decodeFixed64(this.#w.buf, 0);
  }

  /** @internal */
  setSequence(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`WriteBatch: bad sequence number ${seq}`);
    encodeFixed64(this.#w.buf, 0, seq);
  }

  /** @internal The encoded batch, as a view valid until the batch is next changed. */
  rep(): Uint8Array {
    return this.#w.view();
  }

  /** @internal Appends `other`'s updates after this batch's (group commit). Keeps this sequence. */
  append(other: WriteBatch): void {
    const count = this.#count + other.#count;
    if (count > MAX_COUNT) throw new RangeError('WriteBatch: too many updates');
    this.#w.bytes(other.rep().subarray(WRITE_BATCH_HEADER_SIZE));
    this.#setCount(count);
  }

  /**
   * @internal Calls `handler` for each update in order; key and value are views into the rep
   * (value empty for deletions; for range deletions key is the start and value the end).
   */
  forEach(handler: (kind: number, key: Uint8Array, value: Uint8Array) => void): void {
    this.forEachRaw((kind, rep, ks, ke, vs, ve) => {
      handler(kind, rep.subarray(ks, ke), vs === ve ? EMPTY : rep.subarray(vs, ve));
    });
  }

  /** @internal forEach without allocating views: offsets into the rep. */
  forEachRaw(handler: RawBatchHandler): void {
    walkRep(this.#w.view(), handler);
  }

  /**
   * @internal Decodes a batch read from a WAL record (the bytes are copied). Throws
   * CorruptionError, naming `fileName`, when the rep is truncated, has an unknown tag, or its
   * count does not match its updates.
   */
  static fromRep(data: Uint8Array, fileName?: string): WriteBatch {
    try {
      if (data.length < WRITE_BATCH_HEADER_SIZE) {
        throw new CorruptionError('write batch shorter than its 12-byte header', { expected: WRITE_BATCH_HEADER_SIZE, actual: data.length });
      }
      if (decodeFixed64(data, 0) > Number.MAX_SAFE_INTEGER) throw new CorruptionError('write batch sequence number exceeds 2^53');
      const found = walkRep(data, undefined);
      const count = decodeFixed32(data, 8);
      if (found !== count) throw new CorruptionError('write batch has wrong count', { expected: count, actual: found });
      return WriteBatch.#wrap(data, count);
    } catch (err) {
      throw fileName === undefined ? err : CorruptionError.inFile(err, fileName);
    }
  }

  static #wrap(data: Uint8Array, count: number): WriteBatch {
    const batch = new WriteBatch();
    batch.#w = new ByteWriter(Math.max(data.length, 64));
    batch.#w.bytes(data);
    batch.#count = count;
    return batch;
  }

  #add(kind: number, key: Uint8Array, value: Uint8Array | undefined): void {
    if (this.#count === MAX_COUNT) throw new RangeError('WriteBatch: too many updates');
    const w = this.#w;
    w.byte(kind);
    w.lengthPrefixed(key);
    if (value !== undefined) w.lengthPrefixed(value);
    this.#setCount(this.#count + 1);
  }

  #setCount(count: number): void {
    this.#count = count;
    encodeFixed32(this.#w.buf, 8, count);
  }
}

/** Walks the updates of a rep, validating structure; returns how many there are. */
function walkRep(rep: Uint8Array, handler: RawBatchHandler | undefined): number {
  const cur: Cursor = { pos: WRITE_BATCH_HEADER_SIZE };
  let found = 0;
  while (cur.pos < rep.length) {
    const tagOffset = cur.pos;
    const kind = rep[cur.pos++]!;
    const hasValue = kind === ValueKind.Value || kind === ValueKind.Merge || kind === ValueKind.RangeDeletion;
    if (!hasValue && kind !== ValueKind.Deletion) {
      throw new CorruptionError(`unknown write batch tag ${kind} at byte ${tagOffset} of the batch`, { actual: kind });
    }
    const keyStart = skipVarstring(rep, cur, tagOffset);
    const keyEnd = cur.pos;
    const valueStart = hasValue ? skipVarstring(rep, cur, tagOffset) : keyEnd;
    handler?.(kind, rep, keyStart, keyEnd, valueStart, cur.pos);
    found++;
  }
  return found;
}

/** Steps over a varstring without allocating; returns where its bytes start (they end at cur.pos). */
function skipVarstring(rep: Uint8Array, cur: Cursor, tagOffset: number): number {
  let length: number;
  try {
    length = decodeVarint32(rep, cur);
  } catch (err) {
    if (!CorruptionError.is(err)) throw err;
    throw truncated(tagOffset, err);
  }
  const start = cur.pos;
  if (start + length > rep.length) throw truncated(tagOffset, undefined);
  cur.pos = start + length;
  return start;
}

function truncated(tagOffset: number, cause: unknown): CorruptionError {
  return new CorruptionError(`truncated write batch update at byte ${tagOffset} of the batch`, {}, { cause });
}
