/**
 * The VersionSet owns the current Version, the counters that must survive restarts (next file
 * number, last sequence, log number) and the MANIFEST that records them as a log of
 * VersionEdits (docs/format/manifest.md). A change to the set of files becomes real only when
 * its edit is durable in the MANIFEST (logAndApply syncs before it installs).
 *
 * On open we recover from the MANIFEST named by CURRENT, then start a fresh MANIFEST holding a
 * snapshot of the recovered state and point CURRENT at it atomically (LevelDB does the same
 * unless it reuses the old log). Old MANIFESTs are deleted as obsolete files.
 */
import { BYTEWISE_COMPARATOR_NAME } from '../base/comparator.js';
import { CorruptionError, LsmError, assert } from '../base/errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import type { FileSystem } from '../fs/file-system.js';
import { LogReader } from '../record/log-reader.js';
import { LogWriter } from '../record/log-writer.js';
import { currentFileName, manifestFileName } from './filenames.js';
import { isTornTail } from '../record/torn-tail.js';
import { Version } from './version.js';
import { type FileMetaData, VersionEdit } from './version-edit.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Writes MANIFEST-<number> in `dir` holding `edit`, fsyncs it, and points CURRENT at it
 * atomically. Returns the open MANIFEST writer for later edits.
 */
export function writeManifest(fs: FileSystem, dir: string, number: number, edit: VersionEdit): LogWriter {
  const writer = new LogWriter(fs.openWritable(manifestFileName(dir, number)));
  writer.addRecord(edit.encode());
  writer.sync();
  writeFileAtomic(fs, currentFileName(dir), encoder.encode(`MANIFEST-${String(number).padStart(6, '0')}\n`));
  return writer;
}

export class VersionSet {
  readonly #fs: FileSystem;
  readonly #dir: string;
  #current: Version = Version.empty();
  /** Versions pinned by readers, plus the current one. */
  readonly #live = new Set<Version>();
  #manifest: LogWriter | undefined;
  manifestFileNumber = 0;
  nextFileNumber = 2;
  lastSequence = 0;
  /** WALs with numbers below this hold nothing that is not in tables. */
  logNumber = 0;
  prevLogNumber = 0;
  /** Compaction round-robin cursors, per level (LevelDB's compact pointers). */
  readonly compactPointers = new Map<number, Uint8Array>();

  constructor(fs: FileSystem, dir: string) {
    this.#fs = fs;
    this.#dir = dir;
    this.#install(this.#current);
  }

  get current(): Version {
    return this.#current;
  }

  newFileNumber(): number {
    return this.nextFileNumber++;
  }

  markFileNumberUsed(n: number): void {
    if (this.nextFileNumber <= n) this.nextFileNumber = n + 1;
  }

  /** File numbers of every table some live version holds. */
  liveTableNumbers(): Set<number> {
    const out = new Set<number>();
    for (const v of this.#live) for (const { meta } of v.allFiles()) out.add(meta.number);
    return out;
  }

  #install(v: Version): void {
    v.ref();
    v.setOnRelease((released) => this.#live.delete(released));
    this.#live.add(v);
    const old = this.#current;
    this.#current = v;
    if (old !== v) old.unref();
  }

  /** Recovers from CURRENT and the MANIFEST it names. */
  recover(): void {
    const currentPath = currentFileName(this.#dir);
    const manifestName = this.#readCurrent(currentPath);
    const manifestPath = `${this.#dir}/${manifestName}`;
    if (!this.#fs.exists(manifestPath)) {
      throw new CorruptionError(`CURRENT names ${manifestName}, which does not exist`, { file: currentPath });
    }
    const data = this.#fs.readFile(manifestPath);
    const reader = new LogReader(data, manifestPath, {
      mode: 'tolerateCorruptedTailRecords',
      // Only a torn last write may be dropped: anything else loses acknowledged edits.
      onDrop: (region) => {
        if (!isTornTail(data, region.offset)) {
          throw new CorruptionError(`MANIFEST record damaged (${region.reason})`, { file: manifestPath, offset: region.offset });
        }
      },
    });
    let version = Version.empty();
    let sawNextFile = false;
    let sawLogNumber = false;
    let sawLastSequence = false;
    for (let record = reader.readRecord(); record !== undefined; record = reader.readRecord()) {
      const edit = VersionEdit.decode(record, manifestPath);
      // Edits may omit the comparator (LevelDB writes it in a MANIFEST's first edit only).
      if (edit.comparatorName !== undefined && edit.comparatorName !== BYTEWISE_COMPARATOR_NAME) {
        throw new LsmError('LSM_NOT_SUPPORTED', `${manifestPath} uses comparator ${edit.comparatorName}; lsm-state supports only ${BYTEWISE_COMPARATOR_NAME}`);
      }
      version = version.apply(edit);
      if (edit.logNumber !== undefined) { this.logNumber = edit.logNumber; sawLogNumber = true; }
      if (edit.prevLogNumber !== undefined) this.prevLogNumber = edit.prevLogNumber;
      if (edit.nextFileNumber !== undefined) { this.nextFileNumber = edit.nextFileNumber; sawNextFile = true; }
      if (edit.lastSequence !== undefined) { this.lastSequence = edit.lastSequence; sawLastSequence = true; }
      for (const { level, key } of edit.compactPointers) this.compactPointers.set(level, key);
    }
    if (!sawNextFile || !sawLogNumber || !sawLastSequence) {
      throw new CorruptionError('MANIFEST lacks next-file, log-number or last-sequence entry', { file: manifestPath });
    }
    const m = /^MANIFEST-(\d+)$/.exec(manifestName);
    this.manifestFileNumber = Number(m![1]);
    this.markFileNumberUsed(this.manifestFileNumber);
    this.markFileNumberUsed(this.logNumber);
    for (const { meta } of version.allFiles()) this.markFileNumberUsed(meta.number);
    version.checkInvariants();
    this.#install(version);
  }

  #readCurrent(path: string): string {
    let text: string;
    try {
      text = decoder.decode(this.#fs.readFile(path));
    } catch (err) {
      if (LsmError.is(err, 'LSM_NOT_FOUND')) throw new CorruptionError('CURRENT file is missing', { file: path }, { cause: err });
      throw err;
    }
    if (!text.endsWith('\n') || !/^MANIFEST-\d+$/.test(text.slice(0, -1))) {
      throw new CorruptionError('CURRENT does not name a MANIFEST', { file: path, offset: 0 });
    }
    return text.slice(0, -1);
  }

  /** Edit describing the whole current state, the first record of a new MANIFEST. */
  #snapshotEdit(): VersionEdit {
    const edit = new VersionEdit();
    edit.comparatorName = BYTEWISE_COMPARATOR_NAME;
    edit.logNumber = this.logNumber;
    edit.prevLogNumber = this.prevLogNumber;
    edit.nextFileNumber = this.nextFileNumber;
    edit.lastSequence = this.lastSequence;
    for (const [level, key] of this.compactPointers) edit.compactPointers.push({ level, key });
    for (const { level, meta } of this.#current.allFiles()) edit.newFiles.push({ level, meta });
    return edit;
  }

  /**
   * Starts a new MANIFEST with a snapshot of the current state and points CURRENT at it.
   * Returns the number of the MANIFEST it replaced (0 for none).
   */
  startNewManifest(): number {
    const old = this.manifestFileNumber;
    this.#manifest?.close();
    this.manifestFileNumber = this.newFileNumber();
    this.#manifest = writeManifest(this.#fs, this.#dir, this.manifestFileNumber, this.#snapshotEdit());
    return old;
  }

  /**
   * The edit that recreates a set of files in a new database directory (a checkpoint): every
   * file at its level, this set's next file number, and no WAL to replay.
   */
  checkpointEdit(files: readonly { level: number; meta: FileMetaData }[], lastSequence: number): VersionEdit {
    const edit = new VersionEdit();
    edit.comparatorName = BYTEWISE_COMPARATOR_NAME;
    edit.logNumber = 0;
    edit.prevLogNumber = 0;
    edit.nextFileNumber = this.nextFileNumber;
    edit.lastSequence = lastSequence;
    for (const { level, meta } of files) edit.newFiles.push({ level, meta });
    return edit;
  }

  /** Makes `edit` durable in the MANIFEST, then installs the version it produces. */
  logAndApply(edit: VersionEdit): Version {
    assert(this.#manifest !== undefined, 'logAndApply before a MANIFEST was started');
    if (edit.logNumber !== undefined) assert(edit.logNumber >= this.logNumber, 'log number moves forward');
    edit.nextFileNumber = this.nextFileNumber;
    edit.lastSequence = this.lastSequence;
    const next = this.#current.apply(edit);
    this.#manifest.addRecord(edit.encode());
    this.#manifest.sync();
    if (edit.logNumber !== undefined) this.logNumber = edit.logNumber;
    if (edit.prevLogNumber !== undefined) this.prevLogNumber = edit.prevLogNumber;
    for (const { level, key } of edit.compactPointers) this.compactPointers.set(level, key);
    this.#install(next);
    return next;
  }

  close(): void {
    this.#manifest?.close();
    this.#manifest = undefined;
  }
}
