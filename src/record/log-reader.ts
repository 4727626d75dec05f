/**
 * Reads logical records back from a record log held in memory (see format.ts and
 * docs/format/record-log.md for the encoding), and decides what to do with damage.
 *
 * Parsing follows LevelDB's log::Reader: a fragment whose checksum fails, whose length runs past
 * its block, or whose header is all zeros makes the reader drop the rest of that block (its
 * length field cannot be trusted) and resynchronise at the next block boundary; the bytes after
 * the last fragment of a block, when fewer than a header, are trailer and skipped.
 *
 * Unlike LevelDB, every damaged region is classified before the recovery mode acts on it:
 *   - tail damage: nothing valid follows it (a torn write at the end of the file: truncated
 *     header or payload, zeros, a bad checksum, a record whose last fragment is missing);
 *   - mid-file corruption: a valid fragment follows it, so bytes that were once acknowledged
 *     have been lost. Orphan MIDDLE/LAST fragments and a FIRST abandoned by a later FULL/FIRST
 *     are always mid-file.
 * Because the whole file is in memory, "does anything valid follow?" is answered by scanning
 * ahead, so a bad checksum on the last record counts as a torn tail, not as corruption.
 *
 * Recovery modes (RocksDB's WALRecoveryMode names):
 *   tolerateCorruptedTailRecords  drop tail damage silently; throw on mid-file corruption;
 *   absoluteConsistency           throw on any damage, even at the tail;
 *   pointInTime                   stop at the first damage, return nothing after it;
 *   skipAnyCorruptedRecords       drop damaged fragments/records and keep reading.
 * Thrown errors are CorruptionError naming the file and the byte offset of the damage.
 */
import { decodeFixed32 } from '../base/coding.js';
import { crc32c, unmaskCrc } from '../base/crc32c.js';
import { CorruptionError } from '../base/errors.js';
import {
  BLOCK_SIZE, HEADER_SIZE, MAX_RECORD_TYPE, RECORD_FIRST, RECORD_FULL, RECORD_LAST, RECORD_MIDDLE, RECORD_ZERO,
} from './format.js';

export type RecoveryMode =
  | 'tolerateCorruptedTailRecords'
  | 'absoluteConsistency'
  | 'pointInTime'
  | 'skipAnyCorruptedRecords';

export const DEFAULT_RECOVERY_MODE: RecoveryMode = 'tolerateCorruptedTailRecords';

/** One region of the file that was not returned as records. */
export interface DroppedRegion {
  /** Offset of the first dropped byte (the start of the logical record it belonged to). */
  offset: number;
  bytes: number;
  reason: string;
  /** True when nothing valid follows the damage (a torn write rather than corruption). */
  atTail: boolean;
}

export interface LogReaderOptions {
  mode?: RecoveryMode;
  /** Called for every dropped region, before the mode acts on it (for logging). */
  onDrop?: (region: DroppedRegion) => void;
}

const EOF = -1;
const BAD = -2;

/** Result of parsing one fragment; one object per reader, reused. */
interface Fragment {
  /** Offset of the fragment header, or of the damage for BAD. */
  offset: number;
  payloadStart: number;
  payloadEnd: number;
  /** Where parsing continues: after the fragment, or the resync point after damage. */
  next: number;
  reason: string;
}

function newFragment(): Fragment {
  return { offset: 0, payloadStart: 0, payloadEnd: 0, next: 0, reason: '' };
}

function bad(f: Fragment, offset: number, next: number, reason: string): number {
  f.offset = offset;
  f.next = next;
  f.reason = reason;
  return BAD;
}

/**
 * Parses the fragment at `pos` (skipping a block trailer first). Returns its type (FULL..LAST),
 * EOF at a clean end of file, or BAD with `f.offset`, `f.next` and `f.reason` describing damage.
 */
function parseFragment(data: Uint8Array, pos: number, f: Fragment): number {
  const blockLeft = BLOCK_SIZE - (pos % BLOCK_SIZE);
  if (blockLeft < HEADER_SIZE) {
    if (data.length - pos < blockLeft) return pos === data.length ? EOF : bad(f, pos, data.length, 'truncated block trailer');
    pos += blockLeft;
  }
  const remaining = data.length - pos;
  if (remaining === 0) return EOF;
  if (remaining < HEADER_SIZE) return bad(f, pos, data.length, 'truncated record header');
  const blockBoundary = pos - (pos % BLOCK_SIZE) + BLOCK_SIZE;
  const blockEnd = Math.min(blockBoundary, data.length);
  const length = data[pos + 4]! | (data[pos + 5]! << 8);
  const type = data[pos + 6]!;
  const end = pos + HEADER_SIZE + length;
  if (type === RECORD_ZERO && length === 0) return bad(f, pos, blockEnd, 'zero-filled region');
  // A length past the block boundary is a damaged header; one that fits the block but passes
  // the end of the file is a write that was cut short.
  if (end > blockBoundary) return bad(f, pos, blockEnd, 'record length runs past its block');
  if (end > data.length) return bad(f, pos, data.length, 'record truncated by end of file');
  // The checksum covers the type byte and the payload, which are contiguous.
  if (unmaskCrc(decodeFixed32(data, pos)) !== crc32c(data.subarray(pos + 6, end))) {
    return bad(f, pos, blockEnd, 'checksum mismatch');
  }
  if (type === RECORD_ZERO || type > MAX_RECORD_TYPE) return bad(f, pos, end, `unknown record type ${type}`);
  f.offset = pos;
  f.payloadStart = pos + HEADER_SIZE;
  f.payloadEnd = end;
  f.next = end;
  return type;
}

export class LogReader {
  readonly fileName: string;
  readonly mode: RecoveryMode;
  /** Bytes not returned as records because of damage (with pointInTime: everything after the stop). */
  droppedBytes = 0;
  /** Number of damaged regions met. */
  droppedRegions = 0;
  /** Where reading stopped because of damage (tolerated tail, or pointInTime); else undefined. */
  stoppedAtOffset: number | undefined;
  /** Offset of the first fragment header of the last record returned. */
  lastRecordOffset = 0;
  /** Offset just past the last fragment of the last record returned: a clean end of the log. */
  endOfLastRecord = 0;

  readonly #data: Uint8Array;
  readonly #onDrop: ((region: DroppedRegion) => void) | undefined;
  #pos = 0;
  #done = false;
  #failure: CorruptionError | undefined;
  readonly #fragment = newFragment();
  readonly #probe = newFragment();
  /** Payload [start, end) pairs of the fragmented record being assembled. */
  readonly #parts: number[] = [];
  /** Header offset of the pending FIRST fragment, or -1 outside a fragmented record. */
  #pendingOffset = -1;
  /** Where parsing of the pending record began (before any block trailer it skipped). */
  #pendingStart = -1;
  /** Where parsing of the current fragment began: the end of what was consumed before it. */
  #parseStart = 0;
  #pendingBytes = 0;
  /** Memo of the last look-ahead: scanning from `#aheadFrom` finds a valid fragment at `#aheadFound` (-1: none). */
  #aheadFrom = -1;
  #aheadFound = -1;

  /** `data` is the whole file; returned records may be views into it. */
  constructor(data: Uint8Array, fileName: string, options: LogReaderOptions = {}) {
    this.#data = data;
    this.fileName = fileName;
    this.mode = options.mode ?? DEFAULT_RECOVERY_MODE;
    this.#onDrop = options.onDrop;
  }

  /**
   * The next logical record, or undefined at the end (or where the mode stops). A record that was
   * written as one fragment is a view into the file data; a fragmented one is a fresh copy.
   */
  readRecord(): Uint8Array | undefined {
    if (this.#failure !== undefined) throw this.#failure;
    const f = this.#fragment;
    while (!this.#done) {
      this.#parseStart = this.#pos;
      const type = parseFragment(this.#data, this.#pos, f);
      if (type === EOF) {
        this.#endOfFile();
        break;
      }
      if (type === BAD) {
        this.#pos = f.next;
        this.#damage(f.offset, f.next, f.reason, undefined);
        continue;
      }
      this.#pos = f.next;
      const record = this.#accept(type, f);
      if (record !== undefined) return record;
    }
    return undefined;
  }

  /** Feeds one valid fragment to the record assembler; returns a completed record. */
  #accept(type: number, f: Fragment): Uint8Array | undefined {
    switch (type) {
      case RECORD_FULL:
        this.#abandonPending();
        if (this.#done) return undefined;
        return this.#deliver(f.offset, this.#data.subarray(f.payloadStart, f.payloadEnd));
      case RECORD_FIRST:
        this.#abandonPending();
        if (this.#done) return undefined;
        this.#pendingOffset = f.offset;
        this.#pendingStart = this.#parseStart;
        this.#addPart(f);
        return undefined;
      case RECORD_MIDDLE:
        if (this.#pendingOffset < 0) this.#damage(f.offset, f.next, 'missing start of fragmented record', false);
        else this.#addPart(f);
        return undefined;
      default: // RECORD_LAST: parseFragment returns no other type
        if (this.#pendingOffset < 0) {
          this.#damage(f.offset, f.next, 'missing start of fragmented record', false);
          return undefined;
        }
        this.#addPart(f);
        return this.#deliver(this.#pendingOffset, this.#assemble());
    }
  }

  /**
   * A FULL or FIRST arrived while a fragmented record was pending: the pending one never got
   * its LAST. An empty pending FIRST is forgiven, as LevelDB does: old LevelDB writers emitted an
   * empty FIRST in the last 7 bytes of a block and restarted the record in the next block.
   */
  #abandonPending(): void {
    if (this.#pendingOffset < 0) return;
    if (this.#pendingBytes === 0) this.#resetPending();
    else this.#damage(this.#pendingOffset, this.#parseStart, 'fragmented record without its last fragment', false);
  }

  #addPart(f: Fragment): void {
    this.#parts.push(f.payloadStart, f.payloadEnd);
    this.#pendingBytes += f.payloadEnd - f.payloadStart;
  }

  #assemble(): Uint8Array {
    const out = new Uint8Array(this.#pendingBytes);
    const parts = this.#parts;
    let at = 0;
    for (let i = 0; i < parts.length; i += 2) {
      const part = this.#data.subarray(parts[i]!, parts[i + 1]!);
      out.set(part, at);
      at += part.length;
    }
    this.#resetPending();
    return out;
  }

  #resetPending(): void {
    this.#pendingOffset = -1;
    this.#pendingStart = -1;
    this.#pendingBytes = 0;
    this.#parts.length = 0;
  }

  #deliver(offset: number, record: Uint8Array): Uint8Array {
    this.lastRecordOffset = offset;
    this.endOfLastRecord = this.#pos;
    return record;
  }

  #endOfFile(): void {
    this.#done = true;
    if (this.#pendingOffset < 0) return;
    // The writer died between a record's fragments: its tail never reached the file.
    this.#damage(this.#pendingOffset, this.#data.length, 'incomplete record at end of file', true);
  }

  /**
   * Handles damage found at `offset` whose bytes end at `next` (where the caller resumes unless
   * the mode stops). A pending fragmented record is lost with it. `atTail` is computed by
   * look-ahead from `next` when not given.
   */
  #damage(offset: number, next: number, reason: string, atTail: boolean | undefined): void {
    // The dropped region starts where the damaged record's parsing began, so a block trailer
    // before it counts too: droppedBytes then adds up with endOfLastRecord.
    const start = this.#pendingStart >= 0 ? this.#pendingStart : this.#parseStart;
    this.#resetPending();
    const tail = atTail ?? !this.#validFragmentFrom(next);
    const region: DroppedRegion = { offset: start, bytes: next - start, reason, atTail: tail };
    this.#onDrop?.(region);
    this.droppedRegions++;
    if (this.mode === 'skipAnyCorruptedRecords') {
      this.droppedBytes += region.bytes;
    } else if (this.mode === 'pointInTime' || (this.mode === 'tolerateCorruptedTailRecords' && tail)) {
      this.#stop(start);
    } else {
      this.#fail(offset, reason, tail);
    }
  }

  #stop(start: number): void {
    this.#done = true;
    this.stoppedAtOffset = start;
    this.droppedBytes += this.#data.length - start;
  }

  #fail(offset: number, reason: string, atTail: boolean): never {
    this.#done = true;
    const where = atTail ? 'at the end of the log' : 'followed by valid records';
    this.#failure = new CorruptionError(`log record damaged (${reason}), ${where}`, { file: this.fileName, offset });
    throw this.#failure;
  }

  /** True when a fragment with a valid header and checksum starts at or after `pos`. */
  #validFragmentFrom(pos: number): boolean {
    // Damage resync points are visited in scan order, so one scan answers every later query
    // up to the fragment it found: skipping a long run of garbage stays linear.
    if (this.#aheadFrom >= 0 && pos >= this.#aheadFrom && (this.#aheadFound < 0 || pos <= this.#aheadFound)) {
      return this.#aheadFound >= 0;
    }
    this.#aheadFrom = pos;
    const probe = this.#probe;
    for (;;) {
      const type = parseFragment(this.#data, pos, probe);
      if (type === EOF) return this.#setAhead(-1);
      if (type !== BAD) return this.#setAhead(probe.offset);
      pos = probe.next;
    }
  }

  #setAhead(found: number): boolean {
    this.#aheadFound = found;
    return found >= 0;
  }
}
