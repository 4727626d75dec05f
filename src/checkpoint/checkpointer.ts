/**
 * Incremental and full checkpoints of a Database into a CheckpointStorage (DESIGN.md,
 * "Checkpoint protocol"; docs/format/checkpoint.md).
 *
 * - Sync phase: `db.pinLiveFiles()` freezes the memtable (synchronously: the only part that
 *   blocks writers, reported as `writerBlockedMs`), waits for the flush (writers keep writing
 *   into the new memtable) and pins the version.
 * - Async phase: uploads, at most `concurrency` at a time, every pinned table that no retained
 *   checkpoint in storage references; references the others; writes the metadata last.
 * - Registry: reference counts of storage names over every checkpoint metadata found in storage
 *   (refreshed from storage before each checkpoint, so checkpoints of other databases in the
 *   same storage count too). A file is deleted only when no metadata references it.
 * - Retention: keeps the newest `retain` checkpoints of this chain (this database's checkpoints,
 *   plus the checkpoint it was restored from when restored with mode 'claim'). Checkpoints of
 *   other chains are never deleted. Files of a checkpoint restored with 'no-claim' are never
 *   deleted by this Checkpointer.
 * - Crash leftovers: on start, objects this database uploaded (its dbId in the name) that no
 *   metadata references are deleted. Objects named after other databases are left to them.
 *
 * One Checkpointer per database at a time; checkpoints of one Checkpointer run one after another.
 * Databases must use the node file system (tables are read by path).
 */
import { basename } from 'node:path';
import { BYTEWISE_COMPARATOR_NAME } from '../base/comparator.js';
import { CorruptionError, LsmError } from '../base/errors.js';
import type { Database, LiveFiles } from '../db/database.js';
import type { CheckpointStorage } from './checkpoint-storage.js';
import { fileCrc32c } from './file-crc.js';
import {
  CHECKPOINT_FORMAT_VERSION, type CheckpointFile, type CheckpointMetadata, type CheckpointMode, METADATA_PREFIX,
  decodeMetadata, encodeMetadata, localNumber, metadataName, parseMetadataName, toHex,
} from './metadata.js';
import { runPool } from './pool.js';
import { type RestoreRecord, readRestoreRecord } from './restore.js';

export interface CheckpointerOptions {
  mode?: CheckpointMode;
  /** Checkpoints of this chain to keep (default 3, at least 1). */
  retain?: number;
  /** Parallel uploads (default 4). */
  concurrency?: number;
}

export interface CheckpointResult {
  checkpointId: number;
  /** Table bytes this checkpoint uploaded. */
  uploadedBytes: number;
  /** Table bytes this checkpoint references (uploaded by it or reused): the state's size on disk. */
  referencedBytes: number;
  /** Bytes of the metadata object. */
  metadataBytes: number;
  newFiles: number;
  reusedFiles: number;
  /** Time the memtable freeze blocked the main thread, so every writer (LiveFiles.writerBlockedMs). */
  writerBlockedMs: number;
  durationMs: number;
}

interface RegistryEntry {
  count: number;
  file: CheckpointFile;
}

export class Checkpointer {
  readonly #db: Database;
  readonly #storage: CheckpointStorage;
  readonly #mode: CheckpointMode;
  readonly #retain: number;
  readonly #concurrency: number;
  /** Every readable checkpoint metadata in storage, by id. */
  readonly #known = new Map<number, CheckpointMetadata>();
  /** Metadata objects that failed to read: while any exists, nothing is deleted. */
  readonly #unreadable = new Map<number, unknown>();
  #lastId = 0;
  #restore: RestoreRecord | undefined;
  #started: Promise<void> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** The last error of subsuming or cleaning up (the checkpoint itself had completed). */
  lastCleanupError: unknown;

  constructor(db: Database, storage: CheckpointStorage, options: CheckpointerOptions = {}) {
    const mode = options.mode ?? 'incremental';
    if (mode !== 'incremental' && mode !== 'full') throw new RangeError(`mode must be 'incremental' or 'full'`);
    const retain = options.retain ?? 3;
    if (!Number.isSafeInteger(retain) || retain < 1) throw new RangeError('retain must be an integer >= 1');
    const concurrency = options.concurrency ?? 4;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be an integer >= 1');
    this.#db = db;
    this.#storage = storage;
    this.#mode = mode;
    this.#retain = retain;
    this.#concurrency = concurrency;
  }

  /** A Checkpointer whose registry is rebuilt and crash leftovers removed before it returns. */
  static async open(db: Database, storage: CheckpointStorage, options?: CheckpointerOptions): Promise<Checkpointer> {
    const c = new Checkpointer(db, storage, options);
    await c.#start();
    return c;
  }

  get storage(): CheckpointStorage {
    return this.#storage;
  }

  #start(): Promise<void> {
    this.#started ??= (async () => {
      this.#restore = await readRestoreRecord(this.#db.location);
      await this.#refresh();
      await this.#deleteOrphans();
    })();
    this.#started.catch(() => {
      this.#started = undefined; // let a later call retry
    });
    return this.#started;
  }

  /** Ids of the retained checkpoints of this chain, ascending. */
  async retainedCheckpoints(): Promise<number[]> {
    await this.#start();
    return this.#chain().map((m) => m.checkpointId);
  }

  checkpoint(): Promise<CheckpointResult> {
    const run = this.#queue.then(() => this.#checkpoint());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #checkpoint(): Promise<CheckpointResult> {
    const started = performance.now();
    await this.#start();
    const live = await this.#db.pinLiveFiles();
    try {
      return await this.#upload(live, started, live.writerBlockedMs);
    } finally {
      live.release();
    }
  }

  async #upload(live: LiveFiles, started: number, writerBlockedMs: number): Promise<CheckpointResult> {
    await this.#refresh();
    const id = Math.max(this.#lastId, ...this.#known.keys(), ...this.#unreadable.keys()) + 1;
    this.#lastId = id;
    const registry = this.#registry();
    const dbId = live.dbId;
    const restored = new Map<number, CheckpointFile>();
    for (const f of this.#restore?.files ?? []) restored.set(localNumber(f.localName)!, f);

    const files: CheckpointFile[] = [];
    const toUpload: { index: number; path: string }[] = [];
    let referencedBytes = 0;
    for (const { level, meta, path } of live.files) {
      const localName = basename(path);
      if (localNumber(localName) !== meta.number) throw new LsmError('LSM_NOT_SUPPORTED', `table file name ${localName} is not <number>.sst`);
      referencedBytes += meta.size;
      const base = { localName, level, size: meta.size, smallest: toHex(meta.smallest), largest: toHex(meta.largest) };
      if (this.#mode === 'incremental') {
        const candidates = [`shared/${dbId}-${meta.number}.sst`];
        const r = restored.get(meta.number);
        if (r !== undefined && r.size === meta.size) candidates.push(r.storageName);
        const reuse = candidates.map((n) => registry.get(n)).find((e) => e !== undefined && e.file.size === meta.size);
        if (reuse !== undefined) {
          files.push({ ...base, storageName: reuse.file.storageName, crc32c: reuse.file.crc32c, uploadedBy: reuse.file.uploadedBy });
          continue;
        }
      }
      const storageName = this.#mode === 'full' ? `full/${id}/${dbId}-${meta.number}.sst` : `shared/${dbId}-${meta.number}.sst`;
      if (registry.has(storageName)) {
        // Same identity, different size: two databases share an IDENTITY (a copied directory?).
        // Never overwrite an object a retained checkpoint references.
        throw new LsmError('LSM_EXISTS', `${storageName} is in ${this.#storage.description} with another size; is the database identity (${dbId}) shared by a copy?`);
      }
      toUpload.push({ index: files.length, path });
      files.push({ ...base, storageName, crc32c: 0, uploadedBy: id });
    }

    const attempted: string[] = [];
    let uploadedBytes = 0;
    const metadata: CheckpointMetadata = {
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      checkpointId: id,
      dbId,
      parentId: this.#chain().at(-1)?.checkpointId ?? this.#restore?.checkpointId ?? null,
      createdAt: Date.now(),
      lastSequence: live.lastSequence,
      mode: this.#mode,
      comparator: BYTEWISE_COMPARATOR_NAME,
      restoredFrom: this.#restore === undefined ? null : { checkpointId: this.#restore.checkpointId, mode: this.#restore.mode },
      files,
    };
    let metadataAttempted = false;
    try {
      await runPool(toUpload, this.#concurrency, async ({ index, path }) => {
        const f = files[index]!;
        const { crc, size } = await fileCrc32c(path);
        if (size !== f.size) throw new CorruptionError(`table ${f.localName} changed size while pinned`, { file: path, expected: f.size, actual: size });
        f.crc32c = crc;
        attempted.push(f.storageName);
        await this.#storage.putFile(f.storageName, path);
        uploadedBytes += size;
      });
      const finalBytes = encodeMetadata(metadata); // crc32c values are filled in now
      metadataAttempted = true;
      await this.#storage.putBytes(metadataName(id), finalBytes);
      this.#known.set(id, metadata);
      try {
        await this.#subsume();
      } catch (err) {
        this.lastCleanupError = err;
      }
      return {
        checkpointId: id,
        uploadedBytes,
        referencedBytes,
        metadataBytes: finalBytes.length,
        newFiles: toUpload.length,
        reusedFiles: files.length - toUpload.length,
        writerBlockedMs,
        durationMs: performance.now() - started,
      };
    } catch (err) {
      await this.#abort(id, metadataAttempted, attempted).catch((cleanupErr: unknown) => {
        this.lastCleanupError = cleanupErr;
      });
      throw err;
    }
  }

  /** Removes what a failed checkpoint left: its metadata if it got written, then its uploads nobody references. */
  async #abort(id: number, metadataAttempted: boolean, attempted: readonly string[]): Promise<void> {
    if (metadataAttempted) await this.#storage.delete(metadataName(id));
    this.#known.delete(id);
    await this.#refresh();
    if (this.#unreadable.size > 0) return;
    const registry = this.#registry();
    for (const name of attempted) if (!registry.has(name)) await this.#storage.delete(name);
  }

  /** This chain's retained checkpoints, ascending by id. */
  #chain(): CheckpointMetadata[] {
    const dbId = this.#db.id;
    const claimed = this.#restore?.mode === 'claim' ? this.#restore.checkpointId : undefined;
    return [...this.#known.values()]
      .filter((m) => m.dbId === dbId || m.checkpointId === claimed)
      .sort((a, b) => a.checkpointId - b.checkpointId);
  }

  #registry(): Map<string, RegistryEntry> {
    const reg = new Map<string, RegistryEntry>();
    for (const m of this.#known.values()) {
      for (const f of m.files) {
        const e = reg.get(f.storageName);
        if (e === undefined) reg.set(f.storageName, { count: 1, file: f });
        else e.count++;
      }
    }
    return reg;
  }

  /** Storage names this Checkpointer must never delete (files of a checkpoint restored with no-claim). */
  #protected(): Set<string> {
    return new Set(this.#restore?.mode === 'no-claim' ? this.#restore.files.map((f) => f.storageName) : []);
  }

  async #subsume(): Promise<void> {
    const chain = this.#chain();
    if (chain.length <= this.#retain) return;
    const victims = chain.slice(0, chain.length - this.#retain);
    for (const m of victims) {
      await this.#storage.delete(metadataName(m.checkpointId));
      this.#known.delete(m.checkpointId);
    }
    await this.#refresh(); // count references other databases' checkpoints added meanwhile
    if (this.#unreadable.size > 0) return;
    const registry = this.#registry();
    const keep = this.#protected();
    const candidates = new Set(victims.flatMap((m) => m.files.map((f) => f.storageName)));
    for (const name of candidates) {
      if (!registry.has(name) && !keep.has(name)) await this.#storage.delete(name);
    }
  }

  /** Deletes objects named after this database that no metadata references (crash leftovers). */
  async #deleteOrphans(): Promise<void> {
    if (this.#unreadable.size > 0) return;
    const registry = this.#registry();
    const keep = this.#protected();
    const dbId = this.#db.id;
    const mine = (name: string): boolean =>
      name.startsWith(`shared/${dbId}-`) || (/^full\/\d+\//.test(name) && name.slice(name.lastIndexOf('/') + 1).startsWith(`${dbId}-`));
    for (const o of [...(await this.#storage.list('shared/')), ...(await this.#storage.list('full/'))]) {
      if (mine(o.name) && !registry.has(o.name) && !keep.has(o.name)) await this.#storage.delete(o.name);
    }
  }

  /** Re-reads the set of metadata objects in storage. */
  async #refresh(): Promise<void> {
    const present = new Set<number>();
    for (const o of await this.#storage.list(METADATA_PREFIX)) {
      const id = parseMetadataName(o.name);
      if (id === undefined) continue;
      present.add(id);
      if (this.#known.has(id)) continue;
      try {
        this.#known.set(id, decodeMetadata(await this.#storage.getBytes(o.name), o.name));
        this.#unreadable.delete(id);
      } catch (err) {
        if (LsmError.is(err, 'LSM_NOT_FOUND')) {
          present.delete(id);
          continue;
        }
        this.#unreadable.set(id, err);
      }
    }
    for (const id of [...this.#known.keys()]) if (!present.has(id)) this.#known.delete(id);
    for (const id of [...this.#unreadable.keys()]) if (!present.has(id)) this.#unreadable.delete(id);
  }
}
