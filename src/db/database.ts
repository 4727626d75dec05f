/**
 * Database: the embeddable ordered key-value store. Synchronous data path (put, get, delete,
 * write, iterate), asynchronous lifecycle (open, flush, sync, close). docs/architecture.md
 * walks through the write path, the read path and the threads.
 *
 * Write path: WriteBatch → WAL (user-space buffer, see WalFlushPolicy) → memtable. A full
 * memtable is frozen and flushed to a level-0 table by a background job; when frozen memtables
 * pile up (maxWriteBufferNumber), the writer blocks until a flush finishes: never an error.
 * Read path: active memtable → frozen memtables (newest first) → level-0 tables (newest first)
 * → one table per deeper level, each consulted only when its bloom filter says "maybe".
 */
import { randomUUID } from 'node:crypto';
import { basename, join } from 'node:path';
import { CorruptionError, ClosedError, IoError, LsmError, assert } from '../base/errors.js';
import { compareBytesRange } from '../base/comparator.js';
import {
  KIND_FOR_SEEK, MAX_SEQUENCE, TRAILER_BYTES, ValueKind, decodeTrailerSequence, encodeTrailer,
} from '../base/internal-key.js';
import type { InternalIterator } from '../base/iterator.js';
import { levelIterator } from '../compaction/level-iterator.js';
import { type CompactionFilter, type MergeOperator, checkCompactionFilter, loadUserFunction } from '../compaction/merge-operator.js';
import { MergingIterator } from '../compaction/merging-iterator.js';
import { BufferedWritableFile } from '../fs/buffered-writable-file.js';
import type { FileLock, FileSystem } from '../fs/file-system.js';
import {
  currentFileName, identityFileName, lockFileName, logFileName, parseFileName, tableFileName,
} from '../manifest/filenames.js';
import type { Version } from '../manifest/version.js';
import { VersionEdit, type FileMetaData } from '../manifest/version-edit.js';
import { VersionSet, writeManifest } from '../manifest/version-set.js';
import { MAX_HEIGHT, NODE_FIXED_BYTES } from '../memtable/format.js';
import { MemTable, type MemTableHit } from '../memtable/memtable.js';
import type { TableHit } from '../sstable/table-reader.js';
import type { FragmentedRangeTombstones } from '../base/range-tombstone.js';
import { BlockCache } from '../sstable/block-cache.js';
import { compressionTypeFromName, loadCodecs } from '../sstable/compression.js';
import type { TableBuilderOptions } from '../sstable/table-builder.js';
import { WalWriter } from '../wal/wal-writer.js';
import { replayWal } from '../wal/wal-replay.js';
import { WriteBatch } from '../wal/write-batch.js';
import { DbIterator, type IteratorBounds, checkBounds } from './db-iterator.js';
import type { FlushJobResult, FlushJobSpec } from './flush-job.js';
import type { CompactionJobResult } from '../compaction/compaction-job.js';
import { runFlushJob } from './flush-job.js';
import { CompactionManager, type CompactionCounters, type CompactionHost } from './compaction-manager.js';
import { type UserFunctions, resolveUserFunctions } from './user-functions.js';
import { InlineJobRunner, type JobResult, type JobRunner, WorkerJobRunner } from './job-runner.js';
import { RangeTombstoneIndex } from './range-tombstone-index.js';
import { type VisibleVersion, resolveValue } from './value-resolver.js';
import { type DatabaseOptions, type ResolvedOptions, compressionForLevel, resolveOptions } from './options.js';
import { Snapshot } from './snapshot.js';
import { type SavepointResult, exportSavepoint, importSavepoint } from './savepoint.js';
import { TableCache } from './table-cache.js';

export interface WriteOptions {
  /** fsync the WAL before returning. Default false. */
  sync?: boolean;
}

export interface ReadOptions {
  snapshot?: Snapshot;
}

export interface IteratorOptions extends IteratorBounds {
  reverse?: boolean;
  snapshot?: Snapshot;
  /** Stop after this many entries. */
  limit?: number;
}

/** The table files of one pinned version (checkpoints read them while the database runs on). */
export interface LiveFiles {
  /** The database's identity (IDENTITY file). */
  readonly dbId: string;
  /** Every write with a sequence at or below this is in `files`. */
  readonly lastSequence: number;
  /** How long pinning blocked the main thread (the memtable freeze), in ms. */
  readonly writerBlockedMs: number;
  readonly files: readonly { level: number; meta: FileMetaData; path: string }[];
  /** Unpins the version; its files may then be deleted. Idempotent. */
  release(): void;
}

export interface LevelStats {
  level: number;
  files: number;
  bytes: number;
  /** Compaction score (>= 1: the level needs compaction). */
  score: number;
}

export interface DatabaseStats {
  levels: LevelStats[];
  sequence: number;
  memtable: { activeBytes: number; activeEntries: number; immutableCount: number; immutableBytes: number };
  blockCache: ReturnType<BlockCache['stats']>;
  flush: { count: number; bytesWritten: number; entriesWritten: number };
  compaction: CompactionCounters & { running: number; pendingBytes: number; style: 'leveled' | 'universal' };
  wal: { enabled: boolean; bytesWritten: number; syncs: number };
  /** User bytes written (keys + values + batch framing). */
  ingestBytes: number;
  /** (flush + compaction bytes written) / bytes ingested. */
  writeAmplification: number;
  /** Memtable stalls (maxWriteBufferNumber); compaction stalls are in `compaction`. */
  stalls: { count: number; micros: number };
  liveSnapshots: number;
  openIterators: number;
}

/** Upper bound of arena bytes per entry beyond key and value (node header, links, trailer, pad). */
const NODE_OVERHEAD_BYTES = NODE_FIXED_BYTES + MAX_HEIGHT * 4 + TRAILER_BYTES + 3;

const openDatabases = new Set<Database>();
let exitHookInstalled = false;

/** On process exit, hand buffered WAL bytes to the OS so a normal or error exit loses nothing. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const db of openDatabases) db.flushWalBuffer();
  });
}

function checkBytes(name: string, v: unknown): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array (or Buffer), got ${v === null ? 'null' : typeof v}`);
}

interface FlushJobState {
  jobId: number;
  mem: MemTable;
  fileNumber: number;
}

interface FlushWaiter {
  /** Resolve once this many memtables have been flushed in total. */
  target: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Database {
  readonly location: string;
  readonly #options: ResolvedOptions;
  readonly #fs: FileSystem;
  readonly #versions: VersionSet;
  readonly #blockCache: BlockCache;
  readonly #tableCache: TableCache;
  readonly #lock: FileLock;
  readonly #flushRunner: JobRunner;
  readonly #compactionRunner: JobRunner;
  readonly #compactions: CompactionManager;
  readonly #tombstoneIndex: RangeTombstoneIndex;
  readonly #mergeOperator: MergeOperator | undefined;
  readonly #builderOptions: TableBuilderOptions;
  /** Unique id of this database (RocksDB's IDENTITY file): checkpoints name files by it. */
  readonly id: string;

  #mem: MemTable;
  /** Frozen memtables, oldest first. */
  readonly #imm: MemTable[] = [];
  #spareArena: SharedArrayBuffer | undefined;
  #walFile: BufferedWritableFile | undefined;
  #wal: WalWriter | undefined;
  #walFlushScheduled = false;
  readonly #scratchBatch = new WriteBatch();
  readonly #lookupKey = { buf: new Uint8Array(64) };
  /** Bumped when a range deletion enters a memtable (the tombstone index's cache key). */
  #memTombstoneGeneration = 0;

  #flushJob: FlushJobState | undefined;
  #nextJobId = 1;
  #frozenCount = 0;
  #flushedCount = 0;
  #flushWaiters: FlushWaiter[] = [];
  readonly #pendingOutputs = new Set<number>();
  #backgroundError: LsmError | undefined;

  readonly #snapshots = new Set<Snapshot>();
  readonly #iterators = new Set<DbIterator>();
  #closed = false;
  #closing: Promise<void> | undefined;

  /** Merge operator and compaction filter; compactions read the filter (and its spec) per job. */
  readonly #functions: UserFunctions;

  readonly #counters = {
    flushes: 0, flushBytes: 0, flushEntries: 0, walBytes: 0, walSyncs: 0, stalls: 0, stallMicros: 0, ingestBytes: 0,
  };

  private constructor(dir: string, options: ResolvedOptions, versions: VersionSet, lock: FileLock, id: string, functions: UserFunctions) {
    this.location = dir;
    this.#options = options;
    this.#fs = options.fileSystem;
    this.#versions = versions;
    this.#lock = lock;
    this.id = id;
    this.#blockCache = new BlockCache(options.blockCacheSize);
    this.#tableCache = new TableCache(this.#fs, dir, this.#blockCache, options.maxOpenFiles);
    this.#builderOptions = {
      blockSize: options.blockSize,
      blockRestartInterval: options.blockRestartInterval,
      bloomBitsPerKey: options.bloomBitsPerKey,
      compression: compressionTypeFromName(compressionForLevel(options, 0)),
    };
    this.#mergeOperator = functions.mergeOperator;
    this.#functions = functions;
    this.#tombstoneIndex = new RangeTombstoneIndex(this.#tableCache);
    const onResult = (r: JobResult): void => this.#onJobResult(r);
    const compactionFunctions = () => ({ mergeOperator: functions.mergeOperator, compactionFilter: functions.compactionFilter });
    const worker = options.backgroundMode === 'worker';
    this.#flushRunner = worker ? new WorkerJobRunner(onResult, 1) : new InlineJobRunner(this.#fs, onResult, compactionFunctions);
    // User functions given as plain objects cannot cross to a worker: their compactions run here.
    this.#compactionRunner = worker && functions.workerSafe
      ? new WorkerJobRunner(onResult, options.maxBackgroundJobs - 1)
      : new InlineJobRunner(this.#fs, onResult, compactionFunctions);
    this.#compactions = new CompactionManager(this.#compactionHost(functions), options.compaction, { maxCompactions: options.maxBackgroundJobs - 1, maxSubcompactions: options.maxSubcompactions }, options.disableAutoCompactions);
    this.#mem = MemTable.create(options.writeBufferSize);
  }

  /**
   * Opens (or creates) the database in `dir`. Recovers the MANIFEST and replays the WALs it
   * does not cover; the replayed writes are flushed to level-0 tables before open resolves.
   */
  static async open(dir: string, options: DatabaseOptions = {}): Promise<Database> {
    if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('database location must be a non-empty string');
    const resolved = resolveOptions(options);
    await loadCodecs();
    const fs = resolved.fileSystem;
    Database.#prepareDirectory(fs, dir, resolved);
    const lock = fs.lock(lockFileName(dir));
    let db: Database | undefined;
    try {
      const versions = new VersionSet(fs, dir);
      const exists = fs.exists(currentFileName(dir));
      if (exists && resolved.errorIfExists) throw new LsmError('LSM_EXISTS', `database already exists at ${dir}`);
      if (!exists && !resolved.createIfMissing) throw new LsmError('LSM_NOT_FOUND', `no database at ${dir} (createIfMissing is false)`);
      if (exists) versions.recover();
      const functions = await resolveUserFunctions(resolved);
      db = new Database(dir, resolved, versions, lock, Database.#readOrCreateIdentity(fs, dir), functions);
      db.#recoverWalsAndStart(exists);
      db.#compactions.maybeSchedule();
      openDatabases.add(db);
      installExitHook();
      return db;
    } catch (err) {
      if (db !== undefined) await db.#abandon();
      else lock.release();
      throw err;
    }
  }

  static #prepareDirectory(fs: FileSystem, dir: string, options: ResolvedOptions): void {
    if (fs.exists(dir) && !fs.isDirectory(dir)) {
      throw new CorruptionError('database location is a file, not a directory', { file: dir });
    }
    if (!fs.exists(dir)) {
      if (!options.createIfMissing) throw new LsmError('LSM_NOT_FOUND', `no database at ${dir} (createIfMissing is false)`);
      fs.mkdir(dir);
    }
  }

  static #readOrCreateIdentity(fs: FileSystem, dir: string): string {
    const path = identityFileName(dir);
    if (fs.exists(path)) {
      const text = new TextDecoder().decode(fs.readFile(path)).trim();
      if (text.length > 0) return text;
    }
    const id = randomUUID();
    const file = fs.openWritable(path);
    file.append(new TextEncoder().encode(`${id}\n`));
    file.sync();
    file.close();
    return id;
  }

  /** Replays WALs newer than the MANIFEST's log number, writes them to level 0, starts a new WAL. */
  #recoverWalsAndStart(existed: boolean): void {
    const versions = this.#versions;
    const edit = new VersionEdit();
    if (existed) {
      const found = this.#fs.list(this.location).map(parseFileName).filter((p): p is NonNullable<typeof p> => p !== undefined);
      // A crashed writer (ours or LevelDB) can leave a table no MANIFEST names; reusing its
      // number would leave two files (NNN.ldb and NNN.sst) claiming one number (invariant I1).
      for (const p of found) versions.markFileNumberUsed(p.number);
      const logs = found
        .filter((p) => p.kind === 'log')
        .map((p) => p.number)
        .filter((n) => n >= versions.logNumber || n === versions.prevLogNumber)
        .sort((a, b) => a - b);
      for (const n of logs) {
        versions.markFileNumberUsed(n);
        this.#replayLog(n, edit);
      }
      this.#flushRecoveredMemtable(edit);
    }
    const logNumber = versions.newFileNumber();
    if (this.#options.wal) this.#openWal(logNumber);
    this.#mem.logNumber = logNumber;
    edit.logNumber = logNumber;
    edit.prevLogNumber = 0;
    versions.startNewManifest();
    versions.logAndApply(edit);
    this.#deleteObsoleteFiles();
  }

  #replayLog(logNumber: number, edit: VersionEdit): void {
    const path = logFileName(this.location, logNumber);
    replayWal(this.#fs, path, this.#options.walRecoveryMode, (batch) => {
      this.#checkBatchKinds(batch);
      const need = batch.byteSize + batch.count * NODE_OVERHEAD_BYTES;
      if (this.#mem.usedBytes + need > this.#mem.capacityBytes) {
        this.#flushRecoveredMemtable(edit);
        if (need > this.#mem.capacityBytes - this.#mem.usedBytes) this.#mem = MemTable.create(need + this.#mem.usedBytes);
      }
      this.#applyToMemtable(batch, batch.sequence);
      const last = batch.sequence + batch.count - 1;
      if (last > this.#versions.lastSequence) this.#versions.lastSequence = last;
    });
  }

  /** Writes the recovery memtable to a level-0 table on this thread (open is not latency-bound). */
  #flushRecoveredMemtable(edit: VersionEdit): void {
    if (this.#mem.isEmpty) return;
    const fileNumber = this.#versions.newFileNumber();
    const result = runFlushJob(this.#fs, this.#flushSpec(0, fileNumber, this.#mem));
    edit.newFiles.push({ level: 0, meta: { number: fileNumber, size: result.fileSize, smallest: result.smallest, largest: result.largest } });
    this.#mem = MemTable.create(this.#options.writeBufferSize);
  }

  #flushSpec(jobId: number, fileNumber: number, mem: MemTable): FlushJobSpec {
    return {
      jobId, fileNumber, tablePath: tableFileName(this.location, fileNumber), memtable: mem.buffer, builder: this.#builderOptions,
      snapshots: this.#snapshotSequences(),
    };
  }

  #openWal(logNumber: number): void {
    const file = new BufferedWritableFile(this.#fs.openWritable(logFileName(this.location, logNumber)), this.#options.walBufferSize);
    this.#walFile = file;
    this.#wal = new WalWriter(file);
    // Syncing the WAL's bytes is worthless after power loss unless its name is durable too.
    this.#fs.syncDir(this.location);
  }

  // ---------------------------------------------------------------- write path

  #checkWritable(): void {
    if (this.#closed || this.#closing) throw new ClosedError();
    if (this.#backgroundError) {
      throw new LsmError(this.#backgroundError.code, `database is read-only after a background error: ${this.#backgroundError.message}`, { cause: this.#backgroundError });
    }
  }

  put(key: Uint8Array, value: Uint8Array, options?: WriteOptions): void {
    this.#checkWritable();
    checkBytes('key', key);
    checkBytes('value', value);
    const batch = this.#scratchBatch;
    batch.clear();
    batch.put(key, value);
    this.#commit(batch, options);
  }

  delete(key: Uint8Array, options?: WriteOptions): void {
    this.#checkWritable();
    checkBytes('key', key);
    const batch = this.#scratchBatch;
    batch.clear();
    batch.delete(key);
    this.#commit(batch, options);
  }

  /** Adds a merge operand for `key`; the `mergeOperator` option folds operands on read and compaction. */
  merge(key: Uint8Array, operand: Uint8Array, options?: WriteOptions): void {
    this.#checkWritable();
    checkBytes('key', key);
    checkBytes('operand', operand);
    this.#requireMergeOperator();
    const batch = this.#scratchBatch;
    batch.clear();
    batch.merge(key, operand);
    this.#commit(batch, options);
  }

  /** Deletes every key in [start, end) (RocksDB's DeleteRange: one tombstone, not one per key). */
  deleteRange(start: Uint8Array, end: Uint8Array, options?: WriteOptions): void {
    this.#checkWritable();
    const batch = this.#scratchBatch;
    batch.clear();
    batch.deleteRange(start, end); // validates types and start <= end
    this.#commit(batch, options);
  }

  #requireMergeOperator(): void {
    if (this.#mergeOperator === undefined) {
      throw new LsmError('LSM_NOT_SUPPORTED', 'merge needs the mergeOperator option (for example MergeOperators.concat())');
    }
  }

  /** Applies every update of `batch` atomically: all or none survive a crash. */
  write(batch: WriteBatch, options?: WriteOptions): void {
    this.#checkWritable();
    if (!(batch instanceof WriteBatch)) throw new TypeError('write() takes a WriteBatch');
    if (batch.count === 0) return;
    this.#checkBatchKinds(batch);
    this.#commit(batch, options);
  }

  /**
   * Installs flushes and compactions that finished since the last look, without waiting for
   * the event loop: a caller writing or reading in a long synchronous loop would otherwise
   * leave the workers idle with their results undelivered while level 0 fills up.
   */
  #takeFinishedJobs(): void {
    this.#flushRunner.pollIfSignalled();
    this.#compactionRunner.pollIfSignalled();
  }

  #checkBatchKinds(batch: WriteBatch): void {
    if (this.#mergeOperator !== undefined) return;
    batch.forEachRaw((kind) => {
      if (kind === ValueKind.Merge) this.#requireMergeOperator();
    });
  }

  #commit(batch: WriteBatch, options: WriteOptions | undefined): void {
    const sync = options?.sync;
    if (sync !== undefined && typeof sync !== 'boolean') throw new TypeError('write option sync must be a boolean');
    this.#takeFinishedJobs();
    this.#compactions.beforeWrite(batch.byteSize);
    if (this.#backgroundError) this.#checkWritable();
    this.#makeRoomFor(batch.byteSize + batch.count * NODE_OVERHEAD_BYTES);
    this.#counters.ingestBytes += batch.byteSize;
    const seq = this.#versions.lastSequence + 1;
    batch.setSequence(seq);
    if (this.#wal !== undefined) {
      try {
        const before = this.#wal.size;
        this.#wal.add(batch);
        this.#counters.walBytes += this.#wal.size - before; // record headers and block padding included
        if (sync === true) {
          this.#wal.sync();
          this.#counters.walSyncs++;
        } else if (this.#options.walFlushPolicy === 'everyWrite') {
          this.#walFile!.flushBuffer();
        } else {
          this.#scheduleWalFlush();
        }
      } catch (err) {
        throw this.#walFailed(err);
      }
    }
    this.#applyToMemtable(batch, seq);
    this.#versions.lastSequence = seq + batch.count - 1;
  }

  #applyToMemtable(batch: WriteBatch, firstSeq: number): void {
    const mem = this.#mem;
    let seq = firstSeq;
    batch.forEachRaw((kind, rep, ks, ke, vs, ve) => {
      mem.addFrom(seq++, kind, rep, ks, ke, rep, vs, ve);
      if (kind === ValueKind.RangeDeletion) this.#memTombstoneGeneration++;
    });
  }

  /**
   * After a failed WAL write or sync the log's contents are unknown (the buffered file drops
   * what it could not write; an fsync error may have lost dirty pages): acknowledging later
   * writes could leave a synced write behind lost ones. Writes stop, as in RocksDB.
   */
  #walFailed(err: unknown): unknown {
    this.#setBackgroundError(err);
    return err;
  }

  #scheduleWalFlush(): void {
    if (this.#walFlushScheduled) return;
    this.#walFlushScheduled = true;
    setImmediate(() => {
      this.#walFlushScheduled = false;
      try {
        this.flushWalBuffer();
      } catch (err) {
        this.#setBackgroundError(err);
      }
    });
  }

  /** @internal Hands buffered WAL bytes to the OS (RocksDB's FlushWAL without sync). */
  flushWalBuffer(): void {
    this.#walFile?.flushBuffer();
  }

  /** Ensures the active memtable has `bytes` of room, freezing it (and stalling) if needed. */
  #makeRoomFor(bytes: number): void {
    const mem = this.#mem;
    if (mem.usedBytes + bytes <= mem.capacityBytes) return;
    if (!mem.isEmpty) this.#freezeMemtable();
    if (this.#mem.usedBytes + bytes > this.#mem.capacityBytes) {
      // A single batch larger than writeBufferSize gets a memtable of its own size.
      const logNumber = this.#mem.logNumber;
      this.#mem = MemTable.create(bytes + this.#mem.usedBytes);
      this.#mem.logNumber = logNumber;
    }
  }

  /** Turns the active memtable into an immutable one, starts a new WAL, schedules a flush. */
  /** `stall: false` (a checkpoint's cut) may exceed maxWriteBufferNumber by one memtable instead of blocking. */
  #freezeMemtable(options: { stall: boolean } = { stall: true }): void {
    while (options.stall && this.#imm.length >= this.#options.maxWriteBufferNumber - 1 && this.#flushJob !== undefined) {
      this.#stallForFlush();
    }
    if (this.#backgroundError) throw this.#backgroundError;
    const logNumber = this.#versions.newFileNumber();
    if (this.#wal !== undefined) {
      // Later syncs cover only the new WAL: sync this one now, or a crash could keep a synced
      // write and lose earlier acknowledged ones (a hole in the history).
      try {
        this.#wal.sync();
        this.#wal.close();
        this.#openWal(logNumber);
      } catch (err) {
        throw this.#walFailed(err);
      }
    }
    this.#imm.push(this.#mem);
    this.#frozenCount++;
    const spare = this.#spareArena;
    this.#spareArena = undefined;
    this.#mem = MemTable.create(this.#options.writeBufferSize, spare);
    this.#mem.logNumber = logNumber;
    this.#maybeScheduleFlush();
  }

  #stallForFlush(): void {
    const job = this.#flushJob!;
    const started = performance.now();
    this.#counters.stalls++;
    this.#flushRunner.waitSync(job.jobId);
    this.#counters.stallMicros += Math.round((performance.now() - started) * 1000);
  }

  #maybeScheduleFlush(): void {
    if (this.#flushJob !== undefined || this.#imm.length === 0 || this.#backgroundError || this.#closed) return;
    const mem = this.#imm[0]!;
    const fileNumber = this.#versions.newFileNumber();
    const jobId = this.#nextJobId++;
    this.#pendingOutputs.add(fileNumber);
    this.#flushJob = { jobId, mem, fileNumber };
    this.#flushRunner.submit({ type: 'flush', spec: this.#flushSpec(jobId, fileNumber, mem) });
  }

  #onJobResult(r: JobResult): void {
    if (this.#closed) return;
    if (r.type === 'flush') this.#onFlushResult(r.result);
    else this.#compactions.onResult(r.result);
  }

  #onFlushResult(result: FlushJobResult): void {
    const job = this.#flushJob;
    if (job === undefined || job.jobId !== result.jobId || this.#closed) return;
    this.#flushJob = undefined;
    try {
      if (result.error) throw new IoError(`flush of memtable to table ${result.fileNumber} failed: ${result.error.message}`, undefined);
      this.#installFlush(job, result);
    } catch (err) {
      // A failed MANIFEST write may still have reached the file: the table stays protected
      // until the next open, which deletes it if no durable edit names it.
      if (result.error) this.#pendingOutputs.delete(result.fileNumber);
      this.#setBackgroundError(err);
      return;
    }
    this.#pendingOutputs.delete(result.fileNumber);
    this.#flushedCount++;
    this.#settleFlushWaiters();
    this.#deleteObsoleteFiles();
    // Compactions first: one writing to level 0 may start only while no flush holds a file number.
    this.#compactions.maybeSchedule();
    this.#maybeScheduleFlush();
  }

  #installFlush(job: FlushJobState, result: FlushJobResult): void {
    assert(this.#imm[0] === job.mem, 'flushes install in memtable order');
    const edit = new VersionEdit();
    if (result.fileSize > 0) {
      edit.newFiles.push({ level: 0, meta: { number: result.fileNumber, size: result.fileSize, smallest: result.smallest, largest: result.largest } });
    }
    // WALs older than the next memtable's hold nothing that is not now in a table.
    edit.logNumber = (this.#imm[1] ?? this.#mem).logNumber;
    this.#versions.logAndApply(edit);
    this.#imm.shift();
    this.#counters.flushes++;
    this.#counters.flushBytes += result.fileSize;
    this.#counters.flushEntries += result.properties?.numEntries ?? 0;
    this.#recycleArena(job.mem);
  }

  #recycleArena(mem: MemTable): void {
    // Reusing an arena saves touching fresh pages (~3 µs each); iterators may still read it.
    if (mem.refs === 0 && mem.capacityBytes === this.#options.writeBufferSize) this.#spareArena = mem.buffer;
  }

  #compactionHost(functions: UserFunctions): CompactionHost {
    return {
      dir: this.location,
      versions: this.#versions,
      pendingOutputs: this.#pendingOutputs,
      runner: this.#compactionRunner,
      nextJobId: () => this.#nextJobId++,
      snapshotSequences: () => this.#snapshotSequences(),
      builderOptionsFor: (level, bottommost) => ({
        ...this.#builderOptions,
        compression: compressionTypeFromName(compressionForLevel(this.#options, level, bottommost)),
      }),
      mergeOperatorSpec: functions.mergeOperatorSpec,
      compactionFilterSpec: functions.compactionFilterSpec,
      fail: (err) => this.#setBackgroundError(err),
      failed: () => this.#backgroundError !== undefined,
      afterInstall: () => this.#deleteObsoleteFiles(),
      flushInFlight: () => this.#flushJob !== undefined,
    };
  }

  /** Sequence numbers of live snapshots, ascending. */
  #snapshotSequences(): number[] {
    return [...this.#snapshots].map((s) => s.sequence).sort((a, b) => a - b);
  }

  #setBackgroundError(err: unknown): void {
    const lsm = LsmError.is(err) ? err : new IoError('background work failed', undefined, { cause: err });
    this.#backgroundError ??= lsm;
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    for (const w of waiters) w.reject(lsm);
  }

  #settleFlushWaiters(): void {
    const keep: FlushWaiter[] = [];
    for (const w of this.#flushWaiters) {
      if (this.#flushedCount >= w.target) w.resolve();
      else keep.push(w);
    }
    this.#flushWaiters = keep;
  }

  /** Deletes files no live version, pending job or current WAL needs (LevelDB's RemoveObsoleteFiles). */
  #deleteObsoleteFiles(): void {
    const versions = this.#versions;
    const live = versions.liveTableNumbers();
    for (const name of this.#fs.list(this.location)) {
      const parsed = parseFileName(name);
      if (parsed === undefined) continue;
      let keep = true;
      switch (parsed.kind) {
        case 'log':
          keep = parsed.number >= versions.logNumber || parsed.number === versions.prevLogNumber;
          break;
        case 'table':
          keep = live.has(parsed.number) || this.#pendingOutputs.has(parsed.number);
          break;
        case 'manifest':
          keep = parsed.number >= versions.manifestFileNumber;
          break;
        case 'temp':
          keep = false;
          break;
        default:
          keep = true;
      }
      if (keep) continue;
      if (parsed.kind === 'table') this.#tableCache.evict(parsed.number);
      try {
        this.#fs.unlink(join(this.location, name));
      } catch (err) {
        // A file we fail to delete now is retried at the next deletion pass.
        if (!LsmError.is(err)) throw err;
      }
    }
  }

  // ---------------------------------------------------------------- read path

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError();
  }

  #readSequence(snapshot: Snapshot | undefined): number {
    if (snapshot === undefined) return this.#versions.lastSequence;
    if (!(snapshot instanceof Snapshot) || !this.#snapshots.has(snapshot)) {
      if (snapshot instanceof Snapshot) snapshot.checkUsable();
      throw new TypeError('snapshot option must be a live Snapshot of this database');
    }
    return snapshot.sequence;
  }

  /** The value of `key`, or undefined when absent. */
  get(key: Uint8Array, options?: ReadOptions): Uint8Array | undefined {
    this.#checkOpen();
    checkBytes('key', key);
    this.#takeFinishedJobs();
    const seq = this.#readSequence(options?.snapshot);
    const hit = this.#getFromMemtables(key, seq) ?? this.#getFromTables(key, seq);
    if (hit === undefined) return undefined;
    const tombstones = this.#rangeTombstones();
    const covering = tombstones.isEmpty ? 0 : tombstones.maxCoveringSeq(key, seq);
    if (hit.sequence < covering) return undefined;
    if (hit.kind === ValueKind.Value) return hit.value;
    if (hit.kind === ValueKind.Deletion) return undefined;
    return resolveValue(key, this.#versionsOf(key, seq), covering, this.#mergeOperator);
  }

  #rangeTombstones(): FragmentedRangeTombstones {
    return this.#tombstoneIndex.get(this.#versions.current, this.#memTombstoneGeneration, () => [this.#mem, ...this.#imm]);
  }

  #getFromMemtables(key: Uint8Array, seq: number): MemTableHit | undefined {
    if (!this.#mem.isEmpty) {
      const hit = this.#mem.get(key, seq);
      if (hit !== undefined) return hit;
    }
    for (let i = this.#imm.length - 1; i >= 0; i--) {
      const h = this.#imm[i]!.get(key, seq);
      if (h !== undefined) return h;
    }
    return undefined;
  }

  #lookupKeyFor(key: Uint8Array, seq: number): Uint8Array {
    const need = key.length + TRAILER_BYTES;
    if (this.#lookupKey.buf.length < need) this.#lookupKey.buf = new Uint8Array(need * 2);
    const buf = this.#lookupKey.buf;
    buf.set(key, 0);
    encodeTrailer(buf, key.length, seq, KIND_FOR_SEEK);
    return buf.subarray(0, need);
  }

  #getFromTables(key: Uint8Array, seq: number): TableHit | undefined {
    const version = this.#versions.current;
    const lookup = this.#lookupKeyFor(key, seq);
    for (const meta of version.files[0]!) {
      if (!fileMayContain(meta, key)) continue;
      const hit = this.#tableCache.get(meta.number).get(lookup, key);
      if (hit !== undefined) return hit;
    }
    for (let level = 1; level < version.files.length; level++) {
      const files = version.files[level]!;
      if (files.length === 0) continue;
      const meta = files[version.findFile(level, lookup)];
      if (meta === undefined || !fileMayContain(meta, key)) continue;
      const hit = this.#tableCache.get(meta.number).get(lookup, key);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }

  /**
   * Every point version of `key` visible at `seq`, newest first, down to the first value or
   * deletion: what a merge needs. The slow path of get(), taken only for merge operands.
   */
  #versionsOf(key: Uint8Array, seq: number): VisibleVersion[] {
    const it = new MergingIterator(this.#cursors(this.#versions.current, [this.#mem, ...this.#imm]));
    const out: VisibleVersion[] = [];
    try {
      for (it.seek(this.#lookupKeyFor(key, seq).slice()); it.valid(); it.next()) {
        const k = it.key();
        const end = k.length - TRAILER_BYTES;
        if (compareBytesRange(k, 0, end, key, 0, key.length) !== 0) break;
        const kind = k[end]!;
        if (kind === ValueKind.RangeDeletion) continue;
        out.push({ seq: decodeTrailerSequence(k, end), kind, value: it.value().slice() });
        if (kind !== ValueKind.Merge) break;
      }
    } finally {
      it.close();
    }
    return out;
  }

  /** A consistent view for reads until released. */
  snapshot(): Snapshot {
    this.#checkOpen();
    const snap = new Snapshot(this.#versions.lastSequence, (s) => this.#snapshots.delete(s));
    this.#snapshots.add(snap);
    return snap;
  }

  /**
   * Iterates live key/value pairs in key order (or reverse) within the bounds, as of the
   * snapshot (or now). The iterator pins what it reads; a for-of loop releases it when it ends
   * or breaks, and `close()` releases it early.
   */
  iterator(options: IteratorOptions = {}): DbIterator {
    this.#checkOpen();
    if (typeof options !== 'object' || options === null) throw new TypeError('iterator options must be an object');
    checkBounds(options);
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    if (typeof limit !== 'number' || Number.isNaN(limit) || limit < 0) throw new RangeError('iterator limit must be a non-negative number');
    this.#takeFinishedJobs();
    const seq = this.#readSequence(options.snapshot);
    const tombstones = this.#rangeTombstones();
    const { children, release } = this.#pinForIteration();
    const merged = new MergingIterator(children);
    let iterator: DbIterator | undefined = undefined;
    const resolve = { tombstones, mergeOperator: this.#mergeOperator };
    iterator = new DbIterator(merged, seq, options, options.reverse === true, limit, resolve, () => {
      release();
      if (iterator !== undefined) this.#iterators.delete(iterator);
    });
    this.#iterators.add(iterator);
    return iterator;
  }

  /** Cursors over every memtable and table, with what they pin and how to release it. */
  #pinForIteration(): { children: InternalIterator[]; release: () => void } {
    const mems = [this.#mem, ...this.#imm];
    for (const m of mems) m.refs++;
    const version: Version = this.#versions.current;
    version.ref();
    const children = this.#cursors(version, mems);
    const release = (): void => {
      for (const m of mems) m.refs--;
      version.unref();
      if (!this.#closed) this.#deleteObsoleteFiles();
    };
    return { children, release };
  }

  /** One cursor per memtable and level-0 table, one per deeper non-empty level. */
  #cursors(version: Version, mems: readonly MemTable[]): InternalIterator[] {
    const children: InternalIterator[] = mems.map((m) => m.iterator());
    for (const meta of version.files[0]!) children.push(this.#tableCache.get(meta.number).iterator());
    for (let level = 1; level < version.files.length; level++) {
      const files = version.files[level]!;
      if (files.length > 0) children.push(levelIterator(files, (meta) => this.#tableCache.get(meta.number).iterator()));
    }
    return children;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Makes every acknowledged write durable (fsync of the WAL). No-op when the WAL is off. */
  async sync(): Promise<void> {
    this.#checkWritable();
    if (this.#wal === undefined) return;
    try {
      this.#wal.sync();
    } catch (err) {
      throw this.#walFailed(err);
    }
    this.#counters.walSyncs++;
  }

  /**
   * Flushes the memtable, then compacts every file overlapping [start, end] (everything when
   * omitted) down to the last level, as RocksDB's CompactRange. Automatic compactions wait.
   */
  /**
   * Replaces the `options` of a compaction filter given as a spec (RocksDB's
   * CompactionFilterFactory, which makes a filter per compaction): compactions that start
   * afterwards load `factory(options)`; running ones keep the filter they started with. The
   * keyed-state layer uses this to tell its TTL filter which states expire and when.
   */
  async setCompactionFilterOptions(options: unknown): Promise<void> {
    this.#checkOpen();
    const spec = this.#functions.compactionFilterSpec;
    if (spec === undefined) {
      throw new LsmError('LSM_NOT_SUPPORTED', 'setCompactionFilterOptions needs a compactionFilter given as a { kind, module, exportName } spec');
    }
    const next = { module: spec.module, exportName: spec.exportName, options: structuredClone(options) };
    const filter = await loadUserFunction<CompactionFilter>(next);
    checkCompactionFilter(filter);
    spec.options = next.options; // the compaction host holds this object: later job specs carry the new options
    this.#functions.compactionFilter = filter;
  }

  async compactRange(start?: Uint8Array, end?: Uint8Array): Promise<void> {
    this.#checkWritable();
    if (start !== undefined) checkBytes('start', start);
    if (end !== undefined) checkBytes('end', end);
    await this.flush();
    await this.#compactions.compactRange(start, end);
    if (this.#backgroundError) throw this.#backgroundError;
  }

  /**
   * Pins the database's contents as of this call (a checkpoint's cut): the memtable is frozen
   * before this returns, so writes made after the call are not in the result even though the
   * promise resolves only once the frozen memtables are flushed. The version is pinned at the
   * moment the last of them is installed: the files of `LiveFiles` hold exactly the writes up to
   * `lastSequence` and are not deleted until `release()`, whatever flushes and compactions do
   * meanwhile. The freeze never stalls writers: with the queue of frozen memtables full, it
   * holds one memtable more than maxWriteBufferNumber until the flushes catch up.
   */
  pinLiveFiles(): Promise<LiveFiles> {
    try {
      this.#checkWritable();
    } catch (err) {
      return Promise.reject(err);
    }
    const started = performance.now();
    if (!this.#mem.isEmpty) this.#freezeMemtable({ stall: false });
    const writerBlockedMs = performance.now() - started;
    const lastSequence = this.#versions.lastSequence;
    return new Promise((resolve, reject) => {
      const pin = (): void => {
        try {
          this.#checkWritable();
          resolve(this.#pinCurrentVersion(lastSequence, writerBlockedMs));
        } catch (err) {
          reject(err);
        }
      };
      if (this.#backgroundError) reject(this.#backgroundError);
      else if (this.#flushedCount >= this.#frozenCount) pin();
      else this.#flushWaiters.push({ target: this.#frozenCount, resolve: pin, reject });
    });
  }

  #pinCurrentVersion(lastSequence: number, writerBlockedMs: number): LiveFiles {
    const version = this.#versions.current;
    version.ref();
    let released = false;
    const files = [...version.allFiles()].map(({ level, meta }) => ({ level, meta, path: this.#tableCache.pathOf(meta.number) }));
    return {
      dbId: this.id,
      lastSequence,
      writerBlockedMs,
      files,
      release: () => {
        if (released) return;
        released = true;
        version.unref();
        if (!this.#closed) this.#deleteObsoleteFiles();
      },
    };
  }

  /** Writes a logical savepoint (every live key/value at one snapshot) into `dir` (docs/format/savepoint.md). */
  exportSavepoint(dir: string): Promise<SavepointResult> {
    this.#checkOpen();
    return exportSavepoint(this, dir);
  }

  /** Loads the savepoint in `dir` into a new database at `targetDir` opened with `options`. */
  static importSavepoint(dir: string, targetDir: string, options: DatabaseOptions = {}): Promise<Database> {
    return importSavepoint(dir, targetDir, options, (d, o) => Database.open(d, o));
  }

  /**
   * Writes a checkpoint of the database into `dir` (which must not exist or be empty): the
   * live tables hard-linked (copied where links are impossible), and a MANIFEST naming exactly
   * them. `Database.open(dir)` opens it as an independent database with a new identity; the
   * source keeps writing and compacting meanwhile.
   */
  async createCheckpoint(dir: string): Promise<void> {
    if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('checkpoint directory must be a non-empty string');
    const fs = this.#fs;
    if (fs.exists(dir) && (!fs.isDirectory(dir) || fs.list(dir).length > 0)) {
      throw new LsmError('LSM_EXISTS', `checkpoint directory ${dir} exists and is not empty`);
    }
    const live = await this.pinLiveFiles();
    try {
      fs.mkdir(dir);
      for (const f of live.files) linkOrCopy(fs, f.path, join(dir, basename(f.path)));
      const edit = this.#versions.checkpointEdit(live.files, live.lastSequence);
      writeManifest(fs, dir, this.#versions.newFileNumber(), edit).close();
      fs.syncDir(dir);
    } finally {
      live.release();
    }
  }

  /** Freezes the active memtable and resolves when every frozen memtable is in a table. */
  async flush(): Promise<void> {
    await this.#flushMeasured();
  }

  /** flush(), returning how long it blocked this thread (and so every writer): the freeze. */
  async #flushMeasured(): Promise<number> {
    this.#checkWritable();
    // Freezing while frozen memtables fill the queue would block this thread until a flush
    // finishes (a write stall); waiting for them asynchronously first keeps the part that
    // blocks writers (a checkpoint's sync phase) down to the freeze itself.
    while (this.#imm.length >= this.#options.maxWriteBufferNumber - 1 && this.#flushJob !== undefined) {
      await this.#waitForFlushes();
      this.#checkWritable();
    }
    const started = performance.now();
    if (!this.#mem.isEmpty) this.#freezeMemtable();
    const blockedMs = performance.now() - started;
    await this.#waitForFlushes();
    return blockedMs;
  }

  #waitForFlushes(): Promise<void> {
    if (this.#backgroundError) return Promise.reject(this.#backgroundError);
    if (this.#flushedCount >= this.#frozenCount) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#flushWaiters.push({ target: this.#frozenCount, resolve, reject });
    });
  }

  stats(): DatabaseStats {
    this.#checkOpen();
    const version = this.#versions.current;
    const scores = new Map(this.#compactions.scores().map((s) => [s.level, s.score]));
    const c = this.#counters;
    const written = c.flushBytes + this.#compactions.counters.bytesWritten;
    return {
      levels: version.files.map((files, level) => ({ level, files: files.length, bytes: version.levelBytes(level), score: scores.get(level) ?? 0 })),
      sequence: this.#versions.lastSequence,
      memtable: {
        activeBytes: this.#mem.usedBytes,
        activeEntries: this.#mem.entryCount,
        immutableCount: this.#imm.length,
        immutableBytes: this.#imm.reduce((n, m) => n + m.usedBytes, 0),
      },
      blockCache: this.#blockCache.stats(),
      flush: { count: c.flushes, bytesWritten: c.flushBytes, entriesWritten: c.flushEntries },
      compaction: {
        ...this.#compactions.counters,
        running: this.#compactions.runningCount,
        pendingBytes: this.#compactions.pendingCompactionBytes(),
        style: this.#options.compaction.compactionStyle,
      },
      ingestBytes: c.ingestBytes,
      writeAmplification: c.ingestBytes === 0 ? 0 : written / c.ingestBytes,
      wal: { enabled: this.#wal !== undefined, bytesWritten: this.#counters.walBytes, syncs: this.#counters.walSyncs },
      stalls: { count: this.#counters.stalls, micros: this.#counters.stallMicros },
      liveSnapshots: this.#snapshots.size,
      openIterators: this.#iterators.size,
    };
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Closes the database. With the WAL on, unflushed memtables stay in the WAL; with it off they
   * are flushed first, so a clean close never loses data.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    let failure: unknown;
    try {
      if (this.#wal === undefined && !this.#backgroundError && !this.#mem.isEmpty) this.#freezeMemtable();
      // Wait for running flushes so no worker writes into the directory after close. With the
      // WAL off a failed flush loses data, so close reports it.
      await this.#waitForFlushes().catch((err: unknown) => {
        if (this.#wal === undefined) failure = err;
      });
      await this.#compactions.stop();
      this.#wal?.sync();
    } finally {
      await this.#abandon();
    }
    if (failure !== undefined) throw failure;
  }

  /** Releases everything without further writes (also used when open fails half-way). */
  async #abandon(): Promise<void> {
    for (const it of [...this.#iterators]) it.invalidate();
    this.#closed = true;
    openDatabases.delete(this);
    try {
      this.#wal?.close();
    } catch {
      // closing a WAL we cannot flush leaves it as the last write left it; recovery handles that
    }
    this.#compactions.shutdown();
    this.#versions.close();
    this.#tableCache.close();
    await Promise.all([this.#flushRunner.close(), this.#compactionRunner.close()]);
    this.#lock.release();
  }
}

/** Hard-links `from` as `to`, or copies it (fsynced) where the file system cannot link. */
function linkOrCopy(fs: FileSystem, from: string, to: string): void {
  try {
    fs.link(from, to);
    return;
  } catch (err) {
    if (!LsmError.is(err, 'LSM_NOT_SUPPORTED')) throw err;
  }
  const out = fs.openWritable(to);
  try {
    out.append(fs.readFile(from));
    out.sync();
  } finally {
    out.close();
  }
}

/** False when `key` lies outside the file's key range. */
function fileMayContain(meta: FileMetaData, key: Uint8Array): boolean {
  const s = meta.smallest;
  const l = meta.largest;
  return (
    compareBytesRange(s, 0, s.length - TRAILER_BYTES, key, 0, key.length) <= 0 &&
    compareBytesRange(l, 0, l.length - TRAILER_BYTES, key, 0, key.length) >= 0
  );
}
