/**
 * A VersionEdit: one change to the set of table files and the database's counters; the MANIFEST
 * is a record log (src/record) whose records are encoded edits. Encoding, exactly LevelDB's
 * VersionEdit::EncodeTo (tags in format.ts, details in docs/format/manifest.md):
 *
 *   edit  := field*
 *   field := varint32 tag, value; in this order when present:
 *     comparator (1) varstring | log number (2) varint64 | prev log number (9) varint64 |
 *     next file number (3) varint64 | last sequence (4) varint64 |
 *     compact pointer (5) varint32 level, varstring internal key       (each, in insertion order)
 *     deleted file (6) varint32 level, varint64 number                 (each, sorted, no duplicates)
 *     new file (7) varint32 level, varint64 number, varint64 size,
 *                  varstring smallest, varstring largest               (each, in insertion order)
 *
 * Deleted files are sorted by (level, number) because LevelDB keeps them in a std::set: the same
 * edit then encodes to the same bytes in both engines.
 */
import { ByteWriter, type Cursor, decodeLengthPrefixed, decodeVarint, decodeVarint32 } from '../base/coding.js';
import { CorruptionError } from '../base/errors.js';
import { TRAILER_BYTES } from '../base/internal-key.js';
import {
  NUM_LEVELS, TAG_COMPACT_POINTER, TAG_COMPARATOR, TAG_DELETED_FILE, TAG_LAST_SEQUENCE, TAG_LOG_NUMBER,
  TAG_NEW_FILE, TAG_NEXT_FILE_NUMBER, TAG_PREV_LOG_NUMBER, TAG_RETIRED_LARGE_VALUE_REF,
} from './format.js';

/** A table file as the MANIFEST records it. */
export interface FileMetaData {
  number: number;
  /** File size in bytes. */
  size: number;
  /** Smallest and largest internal keys in the file (user key + 8-byte trailer). */
  smallest: Uint8Array;
  largest: Uint8Array;
}

export interface CompactPointer {
  level: number;
  key: Uint8Array;
}

export interface DeletedFile {
  level: number;
  number: number;
}

export interface NewFile {
  level: number;
  meta: FileMetaData;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export class VersionEdit {
  comparatorName: string | undefined;
  logNumber: number | undefined;
  prevLogNumber: number | undefined;
  nextFileNumber: number | undefined;
  lastSequence: number | undefined;
  compactPointers: CompactPointer[] = [];
  deletedFiles: DeletedFile[] = [];
  newFiles: NewFile[] = [];

  setCompactPointer(level: number, key: Uint8Array): void {
    this.compactPointers.push({ level, key });
  }

  deleteFile(level: number, number: number): void {
    this.deletedFiles.push({ level, number });
  }

  addFile(level: number, meta: FileMetaData): void {
    this.newFiles.push({ level, meta });
  }

  /** The edit's bytes, as LevelDB would write them. Throws RangeError for an unencodable field. */
  encode(): Uint8Array {
    const w = new ByteWriter(64 + this.newFiles.length * 64);
    if (this.comparatorName !== undefined) {
      w.varint(TAG_COMPARATOR);
      w.lengthPrefixed(utf8Encoder.encode(this.comparatorName));
    }
    putNumber(w, TAG_LOG_NUMBER, this.logNumber, 'log number');
    putNumber(w, TAG_PREV_LOG_NUMBER, this.prevLogNumber, 'prev log number');
    putNumber(w, TAG_NEXT_FILE_NUMBER, this.nextFileNumber, 'next file number');
    putNumber(w, TAG_LAST_SEQUENCE, this.lastSequence, 'last sequence');
    for (const { level, key } of this.compactPointers) {
      putLevel(w, TAG_COMPACT_POINTER, level);
      putInternalKey(w, key, 'compact pointer');
    }
    for (const { level, number } of sortedDeletions(this.deletedFiles)) {
      putLevel(w, TAG_DELETED_FILE, level);
      w.varint(checkNumber(number, 'deleted file number'));
    }
    for (const { level, meta } of this.newFiles) putNewFile(w, level, meta);
    return w.toBytes();
  }

  /**
   * Decodes an edit. Throws CorruptionError naming `fileName` (and `recordOffset`, the record's
   * offset in that file) for an unknown or retired tag or a malformed field.
   */
  static decode(data: Uint8Array, fileName?: string, recordOffset?: number): VersionEdit {
    const d = new EditDecoder(data, fileName, recordOffset);
    const edit = new VersionEdit();
    while (!d.atEnd()) d.field(edit);
    return edit;
  }
}

function checkNumber(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`VersionEdit: bad ${what} ${value}`);
  return value;
}

function putNumber(w: ByteWriter, tag: number, value: number | undefined, what: string): void {
  if (value === undefined) return;
  w.varint(tag);
  w.varint(checkNumber(value, what));
}

function putLevel(w: ByteWriter, tag: number, level: number): void {
  if (!Number.isInteger(level) || level < 0 || level >= NUM_LEVELS) throw new RangeError(`VersionEdit: bad level ${level}`);
  w.varint(tag);
  w.varint(level);
}

function putInternalKey(w: ByteWriter, key: Uint8Array, what: string): void {
  if (key.length < TRAILER_BYTES) throw new RangeError(`VersionEdit: ${what} is not an internal key (${key.length} bytes)`);
  w.lengthPrefixed(key);
}

function putNewFile(w: ByteWriter, level: number, meta: FileMetaData): void {
  putLevel(w, TAG_NEW_FILE, level);
  w.varint(checkNumber(meta.number, 'file number'));
  w.varint(checkNumber(meta.size, 'file size'));
  putInternalKey(w, meta.smallest, 'smallest key');
  putInternalKey(w, meta.largest, 'largest key');
}

/** LevelDB's deleted_files_ is a std::set of (level, number): sorted and unique. */
function sortedDeletions(files: readonly DeletedFile[]): DeletedFile[] {
  const sorted = [...files].sort((a, b) => a.level - b.level || a.number - b.number);
  return sorted.filter((f, i) => i === 0 || f.level !== sorted[i - 1]!.level || f.number !== sorted[i - 1]!.number);
}

/** Reads fields, turning any decoding failure into a CorruptionError that names the field. */
class EditDecoder {
  readonly #data: Uint8Array;
  readonly #file: string | undefined;
  readonly #offset: number | undefined;
  readonly #cur: Cursor = { pos: 0 };

  constructor(data: Uint8Array, file: string | undefined, offset: number | undefined) {
    this.#data = data;
    this.#file = file;
    this.#offset = offset;
  }

  atEnd(): boolean {
    return this.#cur.pos >= this.#data.length;
  }

  /** Decodes one tagged field into `edit`. */
  field(edit: VersionEdit): void {
    const at = this.#cur.pos;
    const tag = this.#read('tag', () => decodeVarint32(this.#data, this.#cur));
    switch (tag) {
      case TAG_COMPARATOR: edit.comparatorName = this.#string('comparator name'); return;
      case TAG_LOG_NUMBER: edit.logNumber = this.#number('log number'); return;
      case TAG_PREV_LOG_NUMBER: edit.prevLogNumber = this.#number('prev log number'); return;
      case TAG_NEXT_FILE_NUMBER: edit.nextFileNumber = this.#number('next file number'); return;
      case TAG_LAST_SEQUENCE: edit.lastSequence = this.#number('last sequence'); return;
      case TAG_COMPACT_POINTER:
        edit.compactPointers.push({ level: this.#level('compact pointer'), key: this.#internalKey('compact pointer') });
        return;
      case TAG_DELETED_FILE:
        edit.deletedFiles.push({ level: this.#level('deleted file'), number: this.#number('deleted file') });
        return;
      case TAG_NEW_FILE: edit.newFiles.push(this.#newFile()); return;
      case TAG_RETIRED_LARGE_VALUE_REF: throw this.#error(`retired tag ${tag} (large value ref)`, at);
      default: throw this.#error(`unknown tag ${tag}`, at);
    }
  }

  #newFile(): NewFile {
    const level = this.#level('new file');
    const number = this.#number('new file');
    const size = this.#number('new file');
    const smallest = this.#internalKey('new file');
    const largest = this.#internalKey('new file');
    return { level, meta: { number, size, smallest, largest } };
  }

  #number(what: string): number {
    const at = this.#cur.pos;
    const v = this.#read(what, () => decodeVarint(this.#data, this.#cur));
    // Numbers travel as JS numbers; beyond 2^53 they would silently lose precision.
    if (v > Number.MAX_SAFE_INTEGER) throw this.#error(`${what} ${v} exceeds 2^53`, at);
    return v;
  }

  #level(what: string): number {
    const at = this.#cur.pos;
    const level = this.#read(what, () => decodeVarint32(this.#data, this.#cur));
    if (level >= NUM_LEVELS) throw this.#error(`${what}: level ${level} out of range`, at);
    return level;
  }

  /** A copy, so the edit does not pin the whole MANIFEST buffer. */
  #internalKey(what: string): Uint8Array {
    const at = this.#cur.pos;
    const key = this.#read(what, () => decodeLengthPrefixed(this.#data, this.#cur)).slice();
    if (key.length < TRAILER_BYTES) throw this.#error(`${what}: key shorter than an internal key`, at);
    return key;
  }

  #string(what: string): string {
    const bytes = this.#read(what, () => decodeLengthPrefixed(this.#data, this.#cur));
    return this.#read(what, () => utf8Decoder.decode(bytes));
  }

  #read<T>(what: string, decode: () => T): T {
    const at = this.#cur.pos;
    try {
      return decode();
    } catch (err) {
      if (!CorruptionError.is(err) && !(err instanceof TypeError)) throw err;
      throw this.#error(`malformed ${what}`, at, err);
    }
  }

  #error(problem: string, at: number, cause?: unknown): CorruptionError {
    const file = this.#file;
    const message = `version edit: ${problem} at byte ${at} of the edit`;
    return new CorruptionError(message, { file, offset: this.#offset }, cause === undefined ? undefined : { cause });
  }
}
