/**
 * Incremental and full checkpoints of a Database into a CheckpointStorage (DESIGN.md,
 * "Checkpoint protocol"; docs/format/checkpoint.md).
 *
 * - Sync phase, at the call of `checkpoint()`: `db.pinLiveFiles()` freezes the memtable (synchronously: the only part that
 *   blocks writers, reported as `writerBlockedMs`), waits for the flush (writers keep writing
 *   into the new memtable) and pins the version.
 * - Async phase: uploads, at most `concurrency` at a time, every pinned table that no retained
 *   checkpoint in storage references; references the others; writes the metadata last.
 * - Registry: reference counts of storage names over every checkpoint metadata found in storage
 *   (refreshed from storage before each checkpoint, so checkpoints of other databases in the
 *   same storage count too). A file is deleted only when no metadata references it.
 * - Chains: with `chain: 'name'` the metadata is `checkpoints/<name>/<id>.meta` and the chain is
 *   every checkpoint of that name (whatever database took it); ids are per chain. Without a chain
 *   the metadata is `checkpoints/<id>.meta` and the chain is this database's checkpoints there.
 *   Either way the chain also holds the checkpoint the database was restored from with 'claim'.
 *   Checkpointers of different databases and chains may share one storage concurrently.
 * - Retention: keeps the newest `retain` checkpoints of this chain (`Infinity`: never subsume;
 *   `discard(id)` deletes one explicitly). Checkpoints of other chains are never deleted. Files
 *   of a checkpoint restored with 'no-claim' are never deleted by this Checkpointer, nor is that
 *   checkpoint.
 * - Crash leftovers: on start, objects this database uploaded (its dbId in the name) that no
 *   metadata references are deleted. Objects named after other databases are left to them.
 *
 * One Checkpointer per database at a time; checkpoints and discards of one Checkpointer run one
 * after another. Databases must use the node file system (tables are read by path).
 */
import { basename } from 'node:path';
import { BYTEWISE_COMPARATOR_NAME } from '../base/comparator.js';
import { CorruptionError, LsmError } from '../base/errors.js';
import type { Database, LiveFiles } from '../db/database.js';
import type { CheckpointStorage } from './checkpoint-storage.js';
import { fileCrc32c } from './file-crc.js';
import {
  CHECKPOINT_FORMAT_VERSION, type CheckpointFile, type CheckpointMetadata, type CheckpointMode, MAX_CHECKPOINT_ID,
  checkChainName, checkJsonValue, decodeMetadata, encodeMetadata, listMetadataObjects, localNumber, metadataName,
  parseMetadataObjectName, toHex,
} from './metadata.js';
import { runPool } from './pool.js';
import { type RestoreRecord, readRestoreRecord } from './restore.js';

export interface CheckpointerOptions {
  mode?: CheckpointMode;
  /**
   * Checkpoints of this chain to keep (default 3, at least 1). `Infinity`: never subsume
   * automatically; the caller deletes checkpoints with `discard(id)`.
   */
  retain?: number;
  /** Parallel uploads (default 4). */
  concurrency?: number;
  /**
   * Name of this Checkpointer's chain (one plain name segment: letters, digits, '.', '_', '-').
   * Metadata goes to `checkpoints/<chain>/<id>.meta`; ids are per chain. Without it, metadata
   * goes to `checkpoints/<id>.meta` and the chain is this database's checkpoints there.
   */
  chain?: string;
}

export interface CheckpointOptions {
  /**
   * The id to give this checkpoint (a coordinator numbering checkpoints globally): a safe
   * integer in 1..999999999999999 greater than every id of this chain present in storage
   * (RangeError otherwise). Default: one more than the highest id of the chain.
   */
  checkpointId?: number;
  /** Plain JSON data stored verbatim in the metadata (`application`); TypeError if not JSON data. */
  application?: unknown;
}

export interface CheckpointResult {
  checkpointId: number;
  /** The chain the checkpoint belongs to (null: the unnamed chain). */
  chain: string | null;
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
  readonly #chainName: string | null;
  /** Every readable checkpoint metadata in storage (all chains), by object name. */
  readonly #known = new Map<string, CheckpointMetadata>();
  /** Metadata objects that failed to read, by object name: while any exists, no table is deleted. */
  readonly #unreadable = new Map<string, unknown>();
  /** Tables of deleted checkpoints held back while some metadata was unreadable: deleted later if still unreferenced. */
  readonly #deferred = new Set<string>();
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
    if (retain !== Infinity && (!Number.isSafeInteger(retain) || retain < 1)) throw new RangeError('retain must be an integer >= 1 or Infinity');
    const concurrency = options.concurrency ?? 4;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be an integer >= 1');
    this.#chainName = options.chain === undefined ? null : checkChainName(options.chain);
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

  /** This Checkpointer's chain name (null: the unnamed chain). */
  get chain(): string | null {
    return this.#chainName;
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

  checkpoint(options: CheckpointOptions = {}): Promise<CheckpointResult> {
    let application: unknown;
    const requestedId = options.checkpointId;
    try {
      if (requestedId !== undefined && (!Number.isSafeInteger(requestedId) || requestedId < 1 || requestedId > MAX_CHECKPOINT_ID)) {
        throw new RangeError(`checkpointId must be an integer in 1..${MAX_CHECKPOINT_ID}, got ${String(requestedId)}`);
      }
      if (options.application !== undefined) {
        checkJsonValue(options.application, 'application');
        application = JSON.parse(JSON.stringify(options.application)) as unknown; // a copy: later changes by the caller do not leak in
      }
    } catch (err) {
      return Promise.reject(err);
    }
    // The cut is now, at the call (a checkpoint barrier): writes made after this returns are not
    // in the checkpoint, even when it waits for an earlier checkpoint or a flush to finish first.
    const started = performance.now();
    const pinned = this.#db.pinLiveFiles();
    const run = this.#enqueue(() => this.#checkpoint(pinned, started, requestedId, application));
    run.catch(() => pinned.then((live) => live.release(), () => undefined));
    return run;
  }

  /**
   * Deletes checkpoint `checkpointId` of this chain: its metadata first, then its tables that no
   * remaining metadata references and that are not protected (tables of a checkpoint this
   * database was restored from with 'no-claim'). No-op when the chain has no such checkpoint.
   * Runs after the checkpoints and discards already requested.
   */
  discard(checkpointId: number): Promise<void> {
    if (!Number.isSafeInteger(checkpointId) || checkpointId < 0) return Promise.reject(new RangeError(`invalid checkpoint id ${String(checkpointId)}`));
    return this.#enqueue(() => this.#discard(checkpointId));
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #checkpoint(pinned: Promise<LiveFiles>, started: number, requestedId: number | undefined, application: unknown): Promise<CheckpointResult> {
    const live = await pinned;
    try {
      await this.#start();
      return await this.#upload(live, started, live.writerBlockedMs, requestedId, application);
    } finally {
      live.release();
    }
  }

  /** Ids of this chain's metadata objects present in storage (readable or not): the names taken. */
  #namespaceIds(): number[] {
    const ids: number[] = [];
    for (const name of [...this.#known.keys(), ...this.#unreadable.keys()]) {
      const p = parseMetadataObjectName(name);
      if (p !== undefined && p.chain === this.#chainName) ids.push(p.checkpointId);
    }
    return ids;
  }

  async #upload(live: LiveFiles, started: number, writerBlockedMs: number, requestedId: number | undefined, application: unknown): Promise<CheckpointResult> {
    await this.#refresh();
    const highest = Math.max(0, ...this.#namespaceIds());
    let id: number;
    if (requestedId === undefined) {
      id = Math.max(this.#lastId, highest) + 1;
      if (id > MAX_CHECKPOINT_ID) throw new RangeError(`checkpoint ids of ${this.#chainLabel()} are exhausted`);
    } else {
      if (requestedId <= highest) {
        throw new RangeError(`checkpointId ${requestedId} is not greater than checkpoint ${highest} of ${this.#chainLabel()} in ${this.#storage.description}`);
      }
      id = requestedId;
    }
    this.#lastId = Math.max(this.#lastId, id);
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
      const storageName = this.#mode === 'incremental'
        ? `shared/${dbId}-${meta.number}.sst`
        : this.#chainName === null ? `full/${id}/${dbId}-${meta.number}.sst` : `full/${this.#chainName}/${id}/${dbId}-${meta.number}.sst`;
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
    const restoredFrom: CheckpointMetadata['restoredFrom'] = this.#restore === undefined ? null : { checkpointId: this.#restore.checkpointId, mode: this.#restore.mode };
    if (restoredFrom !== null && typeof this.#restore?.chain === 'string') restoredFrom.chain = this.#restore.chain;
    const metadata: CheckpointMetadata = {
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      checkpointId: id,
      dbId,
      parentId: this.#chain().at(-1)?.checkpointId ?? this.#restore?.checkpointId ?? null,
      createdAt: Date.now(),
      lastSequence: live.lastSequence,
      mode: this.#mode,
      comparator: BYTEWISE_COMPARATOR_NAME,
      restoredFrom,
      files,
    };
    if (this.#chainName !== null) metadata.chain = this.#chainName;
    if (application !== undefined) metadata.application = application;
    const name = metadataName(id, this.#chainName);
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
      await this.#storage.putBytes(name, finalBytes);
      this.#known.set(name, metadata);
      try {
        await this.#subsume();
      } catch (err) {
        this.lastCleanupError = err;
      }
      return {
        checkpointId: id,
        chain: this.#chainName,
        uploadedBytes,
        referencedBytes,
        metadataBytes: finalBytes.length,
        newFiles: toUpload.length,
        reusedFiles: files.length - toUpload.length,
        writerBlockedMs,
        durationMs: performance.now() - started,
      };
    } catch (err) {
      await this.#abort(name, metadataAttempted, attempted).catch((cleanupErr: unknown) => {
        this.lastCleanupError = cleanupErr;
      });
      throw err;
    }
  }

  /** Removes what a failed checkpoint left: its metadata if it got written, then its uploads nobody references. */
  async #abort(metaName: string, metadataAttempted: boolean, attempted: readonly string[]): Promise<void> {
    if (metadataAttempted) await this.#storage.delete(metaName);
    this.#known.delete(metaName);
    await this.#refresh();
    if (this.#unreadable.size > 0) return;
    const registry = this.#registry();
    for (const name of attempted) if (!registry.has(name)) await this.#storage.delete(name);
  }

  #chainLabel(): string {
    return this.#chainName === null ? 'the unnamed chain' : `chain ${this.#chainName}`;
  }

  /** Metadata object name of the checkpoint this database was restored from. */
  #restoredName(): string | undefined {
    const r = this.#restore;
    return r === undefined ? undefined : metadataName(r.checkpointId, r.chain);
  }

  /**
   * This chain's retained checkpoints, ascending by id: the metadata of this chain (for the
   * unnamed chain, this database's), plus the checkpoint restored from with 'claim', minus one
   * restored from with 'no-claim'.
   */
  #chain(): CheckpointMetadata[] {
    const dbId = this.#db.id;
    const restored = this.#restoredName();
    const claimed = this.#restore?.mode === 'claim' ? restored : undefined;
    const out: CheckpointMetadata[] = [];
    for (const [name, m] of this.#known) {
      if (name === claimed) out.push(m);
      else if (name !== restored && (m.chain ?? null) === this.#chainName && (this.#chainName !== null || m.dbId === dbId)) out.push(m);
    }
    const claimedMeta = claimed === undefined ? undefined : this.#known.get(claimed);
    return out.sort((a, b) => a.checkpointId - b.checkpointId || (a === claimedMeta ? -1 : b === claimedMeta ? 1 : 0));
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
    await this.#delete(chain.slice(0, chain.length - this.#retain));
  }

  /** Deletes the metadata of `victims`, then their tables that nothing references or protects. */
  async #delete(victims: readonly CheckpointMetadata[]): Promise<void> {
    for (const m of victims) {
      const name = metadataName(m.checkpointId, m.chain);
      await this.#storage.delete(name);
      this.#known.delete(name);
    }
    await this.#refresh(); // count references other chains' checkpoints added meanwhile
    for (const m of victims) for (const f of m.files) this.#deferred.add(f.storageName);
    if (this.#unreadable.size > 0) return;
    const registry = this.#registry();
    const keep = this.#protected();
    for (const name of [...this.#deferred]) {
      if (!registry.has(name) && !keep.has(name)) await this.#storage.delete(name);
      this.#deferred.delete(name);
    }
  }

  async #discard(checkpointId: number): Promise<void> {
    await this.#start();
    await this.#refresh();
    const own = metadataName(checkpointId, this.#chainName);
    const matches = this.#chain().filter((m) => m.checkpointId === checkpointId);
    const victim = matches.find((m) => metadataName(m.checkpointId, m.chain) === own) ?? matches[0];
    if (victim !== undefined) {
      await this.#delete([victim]);
    } else if (this.#chainName !== null && this.#unreadable.has(own) && !(own === this.#restoredName() && this.#restore?.mode === 'no-claim')) {
      // Unreadable metadata of this chain: delete it. Its tables are unknown, so none is deleted
      // here; this database's unreferenced ones go with the orphan cleanup of its next start.
      await this.#storage.delete(own);
      this.#unreadable.delete(own);
    }
  }

  /** Deletes objects named after this database that no metadata references (crash leftovers). */
  async #deleteOrphans(): Promise<void> {
    if (this.#unreadable.size > 0) return;
    const registry = this.#registry();
    const keep = this.#protected();
    const ownFile = new RegExp(`^${this.#db.id.replace(/[.]/g, '\\.')}-\\d+\\.sst$`);
    // shared/<dbId>-<n>.sst, full/<id>/<dbId>-<n>.sst, full/<chain>/<id>/<dbId>-<n>.sst
    const mine = (name: string): boolean => {
      const parts = name.split('/');
      const ok = parts[0] === 'shared' ? parts.length === 2 : parts[0] === 'full' && (parts.length === 3 || parts.length === 4);
      return ok && ownFile.test(parts.at(-1)!);
    };
    for (const o of [...(await this.#storage.list('shared/')), ...(await this.#storage.list('full/'))]) {
      if (mine(o.name) && !registry.has(o.name) && !keep.has(o.name)) await this.#storage.delete(o.name);
    }
  }

  /** Re-reads the set of metadata objects in storage (every chain). */
  async #refresh(): Promise<void> {
    const present = new Set<string>();
    for (const { name } of await listMetadataObjects(this.#storage)) {
      present.add(name);
      if (this.#known.has(name)) continue;
      try {
        this.#known.set(name, decodeMetadata(await this.#storage.getBytes(name), name));
        this.#unreadable.delete(name);
      } catch (err) {
        if (LsmError.is(err, 'LSM_NOT_FOUND')) {
          present.delete(name);
          continue;
        }
        this.#unreadable.set(name, err);
      }
    }
    for (const name of [...this.#known.keys()]) if (!present.has(name)) this.#known.delete(name);
    for (const name of [...this.#unreadable.keys()]) if (!present.has(name)) this.#unreadable.delete(name);
  }
}
