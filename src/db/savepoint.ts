/**
 * Savepoints: a logical, codec-independent dump of every live key/value pair at one snapshot
 * (docs/format/savepoint.md). Unlike a checkpoint (physical table files), a savepoint loads into
 * a database with any options: another codec, another compaction style, another block size.
 *
 * Layout: `<dir>/SAVEPOINT`, a record log (src/record, docs/format/record-log.md: every fragment
 * checksummed with CRC32C) holding a HEADER record, BATCH records of length-prefixed key/value
 * pairs in ascending key order, and a TRAILER record (entry count, byte count, batch count, CRC32C
 * of all batch payloads, format version) that must be the last record. The file is written under
 * a temporary name and renamed into place once synced, so a savepoint is visible only complete.
 */
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ByteWriter, type Cursor, decodeFixed32, decodeFixed64, decodeLengthPrefixed, decodeVarint32 } from '../base/coding.js';
import { BYTEWISE_COMPARATOR_NAME, compareBytes } from '../base/comparator.js';
import { crc32c } from '../base/crc32c.js';
import { CorruptionError, LsmError, toIoError } from '../base/errors.js';
import { nodeFileSystem } from '../fs/node-fs.js';
import { LogReader } from '../record/log-reader.js';
import { LogWriter } from '../record/log-writer.js';
import { WriteBatch } from '../wal/write-batch.js';
import type { Database } from './database.js';
import type { DatabaseOptions } from './options.js';

export const SAVEPOINT_FORMAT_VERSION = 1;
export const SAVEPOINT_FILE_NAME = 'SAVEPOINT';
const MAGIC = new TextEncoder().encode('LSMSAVEP');

export const RECORD_HEADER = 1;
export const RECORD_BATCH = 2;
export const RECORD_TRAILER = 3;

/** A batch record is closed once its payload reaches this many bytes. */
const BATCH_TARGET_BYTES = 64 * 1024;

export interface SavepointResult {
  /** Live key/value pairs written. */
  entries: number;
  /** Sum of key and value lengths (the logical size of the state). */
  bytes: number;
  /** Size of the SAVEPOINT file. */
  fileBytes: number;
}

export interface SavepointTrailer {
  formatVersion: number;
  entries: number;
  bytes: number;
  batches: number;
  /** CRC32C (unmasked) of every BATCH payload, in order, chained. */
  batchCrc: number;
}

/** Fails with LSM_EXISTS unless `dir` is missing or an empty directory; creates it. Returns whether it created it. */
async function prepareEmptyDir(dir: string, what: string): Promise<boolean> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory() || (await readdir(dir)).length > 0) throw new LsmError('LSM_EXISTS', `${what} ${dir} exists and is not empty`);
    return false;
  } catch (err) {
    if (LsmError.is(err)) throw err;
    if ((err as { code?: string }).code !== 'ENOENT') throw toIoError(err, 'checking', dir);
    await mkdir(dir, { recursive: true });
    return true;
  }
}

async function removeOutput(dir: string, created: boolean): Promise<void> {
  if (created) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    return;
  }
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    await rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

export function encodeTrailer(t: SavepointTrailer): Uint8Array {
  const w = new ByteWriter(48);
  w.byte(RECORD_TRAILER);
  w.fixed32(t.formatVersion);
  w.fixed64(t.entries);
  w.fixed64(t.bytes);
  w.fixed64(t.batches);
  w.fixed32(t.batchCrc >>> 0);
  return w.toBytes();
}

/** Writes the savepoint of `db` (as of a snapshot taken now) into the empty or missing `dir`. */
export async function exportSavepoint(db: Database, dir: string): Promise<SavepointResult> {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('savepoint directory must be a non-empty string');
  const snapshot = db.snapshot();
  let created = false;
  try {
    created = await prepareEmptyDir(dir, 'savepoint directory');
    const fs = nodeFileSystem;
    const tmp = join(dir, `${SAVEPOINT_FILE_NAME}.tmp`);
    const writer = new LogWriter(fs.openWritable(tmp));
    let entries = 0;
    let bytes = 0;
    let batches = 0;
    let batchCrc = 0;
    try {
      const header = new ByteWriter(64);
      header.byte(RECORD_HEADER);
      header.bytes(MAGIC);
      header.fixed32(SAVEPOINT_FORMAT_VERSION);
      header.fixed64(Date.now());
      header.fixed64(snapshot.sequence);
      header.lengthPrefixed(new TextEncoder().encode(BYTEWISE_COMPARATOR_NAME));
      writer.addRecord(header.view());

      const pairs = new ByteWriter(BATCH_TARGET_BYTES + 1024);
      let count = 0;
      const batch = new ByteWriter(BATCH_TARGET_BYTES + 1024);
      const emit = (): void => {
        batch.reset();
        batch.byte(RECORD_BATCH);
        batch.varint(count);
        batch.bytes(pairs.view());
        const payload = batch.view();
        writer.addRecord(payload);
        batchCrc = crc32c(payload, batchCrc);
        batches++;
        pairs.reset();
        count = 0;
      };
      const it = db.iterator({ snapshot });
      try {
        for (const [key, value] of it) {
          pairs.lengthPrefixed(key);
          pairs.lengthPrefixed(value);
          count++;
          entries++;
          bytes += key.length + value.length;
          if (pairs.length >= BATCH_TARGET_BYTES) {
            emit();
            // Let timers and I/O run on large dumps; the iterator pins what it reads.
            if (batches % 16 === 0) await yieldToLoop();
          }
        }
      } finally {
        it.return?.();
      }
      if (count > 0) emit();
      writer.addRecord(encodeTrailer({ formatVersion: SAVEPOINT_FORMAT_VERSION, entries, bytes, batches, batchCrc }));
      writer.sync();
    } finally {
      writer.close();
    }
    const final = join(dir, SAVEPOINT_FILE_NAME);
    fs.rename(tmp, final);
    fs.syncDir(dir);
    return { entries, bytes, fileBytes: fs.fileSize(final) };
  } catch (err) {
    if (!LsmError.is(err, 'LSM_EXISTS')) await removeOutput(dir, created);
    throw err;
  } finally {
    snapshot.release();
  }
}

export interface SavepointHeader {
  formatVersion: number;
  createdAt: number;
  sequence: number;
  comparator: string;
}

export interface ParsedSavepoint {
  header: SavepointHeader;
  trailer: SavepointTrailer;
  /** BATCH record payloads, each starting after its type byte. */
  batches: Uint8Array[];
}

/**
 * Reads and fully validates the savepoint in `dir` (record checksums, header, every batch,
 * ascending keys, trailer counts and batch CRC). Throws CorruptionError naming the file.
 */
export async function readSavepoint(dir: string): Promise<ParsedSavepoint> {
  const file = join(dir, SAVEPOINT_FILE_NAME);
  let data: Uint8Array;
  try {
    data = await readFile(file);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw new LsmError('LSM_NOT_FOUND', `no savepoint in ${dir} (missing ${file})`);
    throw toIoError(err, 'reading', file);
  }
  const bad = (message: string, details: { expected?: string | number; actual?: string | number } = {}): CorruptionError =>
    new CorruptionError(`savepoint: ${message}`, { file, ...details });
  const reader = new LogReader(data, file, { mode: 'absoluteConsistency' });
  const cur: Cursor = { pos: 0 };
  const next = (): Uint8Array | undefined => {
    try {
      return reader.readRecord();
    } catch (err) {
      throw CorruptionError.inFile(err, file);
    }
  };

  const first = next();
  if (first === undefined) throw bad('empty file (no header record)');
  if (first[0] !== RECORD_HEADER || first.length < 1 + MAGIC.length + 4 + 16) throw bad('first record is not a savepoint header');
  for (let i = 0; i < MAGIC.length; i++) if (first[1 + i] !== MAGIC[i]) throw bad('bad magic');
  let pos = 1 + MAGIC.length;
  const formatVersion = decodeFixed32(first, pos);
  if (formatVersion !== SAVEPOINT_FORMAT_VERSION) {
    throw new LsmError('LSM_NOT_SUPPORTED', `savepoint ${file} has format version ${formatVersion}; this build reads ${SAVEPOINT_FORMAT_VERSION}`);
  }
  pos += 4;
  const createdAt = decodeFixed64(first, pos);
  const sequence = decodeFixed64(first, pos + 8);
  cur.pos = pos + 16;
  let comparator: string;
  try {
    comparator = new TextDecoder('utf-8', { fatal: true }).decode(decodeLengthPrefixed(first, cur));
  } catch (err) {
    throw CorruptionError.is(err) ? CorruptionError.inFile(err, file) : bad('bad comparator name');
  }
  if (comparator !== BYTEWISE_COMPARATOR_NAME) {
    throw new LsmError('LSM_NOT_SUPPORTED', `savepoint ${file} was written with comparator ${comparator}; this build supports ${BYTEWISE_COMPARATOR_NAME}`);
  }

  const batches: Uint8Array[] = [];
  let entries = 0;
  let bytes = 0;
  let batchCrc = 0;
  let prev: Uint8Array | undefined;
  let trailer: SavepointTrailer | undefined;
  for (let rec = next(); rec !== undefined; rec = next()) {
    if (trailer !== undefined) throw bad('records after the trailer');
    if (rec[0] === RECORD_BATCH) {
      batchCrc = crc32c(rec, batchCrc);
      const body = rec.subarray(1);
      try {
        cur.pos = 0;
        const count = decodeVarint32(body, cur);
        for (let i = 0; i < count; i++) {
          const key = decodeLengthPrefixed(body, cur);
          const value = decodeLengthPrefixed(body, cur);
          if (prev !== undefined && compareBytes(prev, key) >= 0) throw bad(`keys out of order in batch ${batches.length}`);
          prev = key;
          entries++;
          bytes += key.length + value.length;
        }
        if (cur.pos !== body.length) throw bad(`batch ${batches.length} has ${body.length - cur.pos} bytes after its last pair`);
      } catch (err) {
        throw CorruptionError.inFile(err, file);
      }
      batches.push(body);
    } else if (rec[0] === RECORD_TRAILER) {
      if (rec.length !== 1 + 4 + 8 + 8 + 8 + 4) throw bad('trailer has the wrong size', { expected: 33, actual: rec.length });
      trailer = {
        formatVersion: decodeFixed32(rec, 1),
        entries: decodeFixed64(rec, 5),
        bytes: decodeFixed64(rec, 13),
        batches: decodeFixed64(rec, 21),
        batchCrc: decodeFixed32(rec, 29) >>> 0,
      };
    } else {
      throw bad(`unknown record type ${String(rec[0])}`);
    }
  }
  if (trailer === undefined) throw bad('no trailer record (the savepoint is truncated)');
  if (trailer.formatVersion !== formatVersion) throw bad('trailer format version differs from the header', { expected: formatVersion, actual: trailer.formatVersion });
  if (trailer.batches !== batches.length) throw bad('batch count mismatch', { expected: trailer.batches, actual: batches.length });
  if (trailer.entries !== entries) throw bad('entry count mismatch', { expected: trailer.entries, actual: entries });
  if (trailer.bytes !== bytes) throw bad('byte count mismatch', { expected: trailer.bytes, actual: bytes });
  if (trailer.batchCrc !== batchCrc >>> 0) throw bad('batch checksum mismatch', { expected: trailer.batchCrc, actual: batchCrc >>> 0 });
  return { header: { formatVersion, createdAt, sequence, comparator }, trailer, batches };
}

/**
 * Loads the savepoint in `dir` into a new database at `targetDir` (missing or empty, else
 * LSM_EXISTS) opened with `options`, and resolves to it, open. The savepoint is validated in
 * full before anything is written; on any failure the target is removed again.
 */
export async function importSavepoint(
  dir: string,
  targetDir: string,
  options: DatabaseOptions,
  open: (dir: string, options: DatabaseOptions) => Promise<Database>,
): Promise<Database> {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('savepoint directory must be a non-empty string');
  if (typeof targetDir !== 'string' || targetDir.length === 0) throw new TypeError('target directory must be a non-empty string');
  const parsed = await readSavepoint(dir);
  const created = await prepareEmptyDir(targetDir, 'import target');
  let db: Database | undefined;
  try {
    db = await open(targetDir, { ...options, createIfMissing: true, errorIfExists: true });
    const batch = new WriteBatch();
    const cur: Cursor = { pos: 0 };
    for (const body of parsed.batches) {
      batch.clear();
      cur.pos = 0;
      const count = decodeVarint32(body, cur);
      for (let i = 0; i < count; i++) {
        const key = decodeLengthPrefixed(body, cur);
        batch.put(key, decodeLengthPrefixed(body, cur));
      }
      db.write(batch);
      await yieldToLoop();
    }
    await db.flush();
    return db;
  } catch (err) {
    if (db !== undefined) await db.close().catch(() => undefined);
    await removeOutput(targetDir, created);
    throw err;
  }
}
