/**
 * Appends logical records to a record log (LevelDB's log::Writer format; see format.ts and
 * docs/format/record-log.md).
 *
 * Encoding of one logical record, starting at the current block offset:
 *   - if fewer than HEADER_SIZE bytes remain in the block, they are filled with zeros (the
 *     trailer) and the record starts at the next block;
 *   - the payload is cut into fragments of at most (bytes left in block - HEADER_SIZE); a
 *     record that fits is one FULL fragment, otherwise FIRST, MIDDLE*, LAST;
 *   - an empty record is still written, as a FULL fragment with no payload;
 *   - each fragment header is: masked CRC32C(type byte + payload) fixed32 LE, payload length
 *     fixed16 LE, type byte.
 *
 * All fragments (and trailers) of one record are assembled into a reused buffer and appended
 * with one `file.append`: one system call per record, and a crash tears at most that record.
 * The file must not keep a reference to the buffer it is given (the Node file writes it out).
 */
import { ByteWriter, encodeFixed32 } from '../base/coding.js';
import { crc32c, maskCrc } from '../base/crc32c.js';
import { ClosedError, LsmError } from '../base/errors.js';
import type { WritableFile } from '../fs/file-system.js';
import { BLOCK_SIZE, HEADER_SIZE, RECORD_FIRST, RECORD_FULL, RECORD_LAST, RECORD_MIDDLE } from './format.js';

/** CRC32C of each single type byte: the per-fragment checksum extends it with the payload. */
const TYPE_CRC: readonly number[] = [0, 1, 2, 3, 4].map((t) => crc32c(Uint8Array.of(t)));

/** A buffer grown by one huge record is dropped after use rather than kept forever. */
const MAX_RETAINED_BUFFER = 1 << 20;

function fragmentType(first: boolean, last: boolean): number {
  if (first) return last ? RECORD_FULL : RECORD_FIRST;
  return last ? RECORD_LAST : RECORD_MIDDLE;
}

export class LogWriter {
  readonly #file: WritableFile;
  /** Offset inside the current 32 KiB block where the next fragment starts. */
  #blockOffset: number;
  #out = new ByteWriter(4096);
  #closed = false;
  /** Set when an append failed: the file's framing is unknown, so no further record is safe. */
  #failed: unknown;

  /** Resumes after the file's existing bytes: blocks are aligned to the start of the file. */
  constructor(file: WritableFile) {
    this.#file = file;
    this.#blockOffset = file.size % BLOCK_SIZE;
  }

  /** Bytes in the file, including those it held when this writer was created. */
  get size(): number {
    return this.#file.size;
  }

  /** Appends one logical record. Not durable until sync(). */
  addRecord(data: Uint8Array): void {
    this.#checkUsable();
    const out = this.#out;
    out.reset();
    const blockOffset = this.#encodeRecord(out, data, this.#blockOffset);
    try {
      this.#file.append(out.view());
    } catch (err) {
      this.#failed = err;
      throw err;
    }
    this.#blockOffset = blockOffset;
    if (out.buf.length > MAX_RETAINED_BUFFER) this.#out = new ByteWriter(4096);
  }

  sync(): void {
    this.#checkUsable();
    this.#file.sync();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }

  #checkUsable(): void {
    if (this.#closed) throw new ClosedError('log writer');
    if (this.#failed !== undefined) {
      throw new LsmError('LSM_IO', `log ${this.#file.path} failed earlier; start a new log`, { cause: this.#failed });
    }
  }

  /** Writes every fragment of `data` into `out`; returns the block offset after them. */
  #encodeRecord(out: ByteWriter, data: Uint8Array, blockOffset: number): number {
    let pos = 0;
    let first = true;
    // do/while: an empty record still produces one (empty FULL) fragment.
    do {
      const leftover = BLOCK_SIZE - blockOffset;
      if (leftover < HEADER_SIZE) {
        writeTrailer(out, leftover);
        blockOffset = 0;
      }
      const avail = BLOCK_SIZE - blockOffset - HEADER_SIZE;
      const fragmentLength = Math.min(data.length - pos, avail);
      const last = pos + fragmentLength === data.length;
      writeFragment(out, fragmentType(first, last), data.subarray(pos, pos + fragmentLength));
      blockOffset += HEADER_SIZE + fragmentLength;
      pos += fragmentLength;
      first = false;
    } while (pos < data.length);
    return blockOffset;
  }
}

/** Zero-fills the last bytes of a block (too few for a header). Explicit: the buffer is reused. */
function writeTrailer(out: ByteWriter, length: number): void {
  out.ensure(length);
  out.buf.fill(0, out.length, out.length + length);
  out.length += length;
}

function writeFragment(out: ByteWriter, type: number, payload: Uint8Array): void {
  out.ensure(HEADER_SIZE + payload.length);
  const buf = out.buf;
  const at = out.length;
  encodeFixed32(buf, at, maskCrc(crc32c(payload, TYPE_CRC[type]!)));
  buf[at + 4] = payload.length & 0xff;
  buf[at + 5] = payload.length >>> 8;
  buf[at + 6] = type;
  buf.set(payload, at + HEADER_SIZE);
  out.length = at + HEADER_SIZE + payload.length;
}
