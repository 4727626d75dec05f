/**
 * KeyedStateBackend: Flink's keyed state over one lsm-state database (docs/keyed-state.md).
 *
 * - The database has the concat merge operator (ListState appends) and the TTL compaction
 *   filter (as a worker-loadable spec whose options list the states with TTL).
 * - States are registered by name; the registry lives in the database under state id 0, so it
 *   is part of every checkpoint and a restore knows every state's kind and serializers.
 * - `checkpoint()` runs the checkpoint issue's Checkpointer on its own chain in the storage and
 *   records the key-group range, key serializer and registry in the checkpoint metadata.
 * - `restore()` builds a backend for any key-group range from checkpoints of old backends
 *   (rescaling: see rescale-restore.ts).
 */
import { ClosedError, LsmError } from '../base/errors.js';
import { Checkpointer } from '../checkpoint/checkpointer.js';
import type { CheckpointStorage } from '../checkpoint/checkpoint-storage.js';
import type { CheckpointMode } from '../checkpoint/metadata.js';
import { Database } from '../db/database.js';
import type { DatabaseOptions } from '../db/options.js';
import { backendDatabaseOptions } from './backend-options.js';
import { restoreRescaled } from './rescale-restore.js';
import { MAX_STATE_ID, REGISTRY_STATE_ID, encodeStateId } from './key-codec.js';
import { KeyGroupRange, checkMaxParallelism, checkRangeWithin, keyGroupPrefixBytes } from './key-groups.js';
import type { TypeSerializer } from './serializers.js';
import { Serializers } from './serializers.js';
import {
  type BackendInfo, type StateEntry, backendInfo, backendInfoKey, checkBackendInfo, checkCompatible, checkStateEntry,
  encodeJson, stateEntryKey, stateEntryRange,
} from './state-registry.js';
import {
  type AggregateFunction, AggregatingState, ListState, MapState, type ReduceFunction, ReducingState,
  type StateContext, type StateKind, type StateSetup, ValueState,
} from './states.js';
import type { TtlFilterOptions } from './ttl-compaction-filter.js';
import { type StateTtlConfig, resolveTtl } from './ttl.js';

export interface KeyedStateBackendOptions<K> extends Omit<DatabaseOptions, 'mergeOperator' | 'compactionFilter'> {
  /** The database directory. */
  dir: string;
  /** Number of key groups (Flink's maxParallelism), 1..32768. Fixed for the life of the state. */
  maxParallelism: number;
  /** The key groups this backend owns (inclusive bounds). */
  keyGroupRange: KeyGroupRange | { start: number; end: number };
  keySerializer: TypeSerializer<K>;
  /** Where `checkpoint()` uploads. */
  checkpointStorage?: CheckpointStorage;
  /** Name of this backend's checkpoint chain in the storage; unique per storage. Default `keyed-<start>-<end>`. */
  name?: string;
  /** Default 'incremental'. */
  checkpointMode?: CheckpointMode;
  /** Checkpoints kept by this backend's chain; Infinity when a CheckpointCoordinator decides. Default 3. */
  retainCheckpoints?: number;
  /** Current time in ms for TTL; default Date.now. A test clock here also drives the TTL compaction filter. */
  ttlTimeProvider?: () => number;
}

export interface KeyedStateRestoreOptions<K> extends KeyedStateBackendOptions<K> {
  /** Handles of the checkpoints to restore from (from `checkpoint()` or a coordinator's completed checkpoint). */
  handles: readonly KeyedStateHandle[];
  /** Storage holding those checkpoints; default `checkpointStorage`. */
  restoreStorage?: CheckpointStorage;
  /**
   * 'no-claim' (default, as Flink): the restored checkpoint's files are never deleted by this
   * backend, yet its checkpoints reference them instead of uploading them again. 'claim': the
   * new chain takes them over.
   */
  restoreMode?: 'claim' | 'no-claim';
}

/** What `checkpoint()` returns: the handle to restore from, and the checkpoint's sizes. */
export interface KeyedStateHandle {
  kind: 'lsm-state.keyed-state';
  chain: string;
  checkpointId: number;
  dbId: string;
  maxParallelism: number;
  keyGroupRange: { start: number; end: number };
}

export interface KeyedStateCheckpoint {
  handle: KeyedStateHandle;
  uploadedBytes: number;
  referencedBytes: number;
  newFiles: number;
  reusedFiles: number;
  writerBlockedMs: number;
  durationMs: number;
}

/** What the backend stores in each checkpoint's metadata (`application`). */
export interface KeyedStateCheckpointInfo {
  kind: 'lsm-state.keyed-state';
  maxParallelism: number;
  keySerializer: string;
  keyGroupRange: { start: number; end: number };
  states: StateEntry[];
}

interface StateDescriptorBase<N> {
  name: string;
  namespaceSerializer?: TypeSerializer<N>;
  ttl?: StateTtlConfig;
}
export interface ValueStateDescriptor<V, N> extends StateDescriptorBase<N> { valueSerializer: TypeSerializer<V> }
export interface ListStateDescriptor<E, N> extends StateDescriptorBase<N> { elementSerializer: TypeSerializer<E> }
export interface MapStateDescriptor<UK, UV, N> extends StateDescriptorBase<N> { userKeySerializer: TypeSerializer<UK>; valueSerializer: TypeSerializer<UV> }
export interface ReducingStateDescriptor<V, N> extends StateDescriptorBase<N> { valueSerializer: TypeSerializer<V>; reduce: ReduceFunction<V> }
export interface AggregatingStateDescriptor<IN, ACC, OUT, N> extends StateDescriptorBase<N> {
  accumulatorSerializer: TypeSerializer<ACC>;
  aggregate: AggregateFunction<IN, ACC, OUT>;
}

/** A participant of a CheckpointCoordinator (structurally its CheckpointParticipant). */
export interface KeyedStateParticipant {
  readonly name: string;
  snapshot(checkpointId: number): Promise<KeyedStateHandle>;
  discard(checkpointId: number, handle: unknown): Promise<void>;
}

const NAME = /^[A-Za-z0-9._-]+$/;

export class KeyedStateBackend<K> {
  readonly db: Database;
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly keySerializer: TypeSerializer<K>;
  readonly name: string;
  readonly #storage: CheckpointStorage | undefined;
  readonly #checkpointMode: CheckpointMode;
  readonly #retain: number;
  readonly #now: () => number;
  readonly #fixedClock: boolean;
  readonly #context: StateContext<K>;
  readonly #entries = new Map<string, StateEntry>();
  #checkpointer: Checkpointer | undefined;
  #filterUpdate: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(db: Database, options: KeyedStateBackendOptions<K>, range: KeyGroupRange) {
    this.db = db;
    this.maxParallelism = options.maxParallelism;
    this.keyGroupRange = range;
    this.keySerializer = options.keySerializer;
    this.name = options.name ?? `keyed-${range.start}-${range.end}`;
    this.#storage = options.checkpointStorage;
    this.#checkpointMode = options.checkpointMode ?? 'incremental';
    this.#retain = options.retainCheckpoints ?? 3;
    this.#now = options.ttlTimeProvider ?? Date.now;
    this.#fixedClock = options.ttlTimeProvider !== undefined;
    const prefixBytes = keyGroupPrefixBytes(options.maxParallelism);
    this.#context = {
      db,
      maxParallelism: options.maxParallelism,
      keyGroupRange: range,
      keyGroupPrefixBytes: prefixBytes,
      keySerializer: options.keySerializer,
      now: this.#now,
      checkOpen: () => {
        if (this.#closed) throw new ClosedError('keyed-state backend is closed');
      },
    };
  }

  /** Opens (or creates) a backend in `options.dir`. An existing one must have the same maxParallelism, key serializer and range. */
  static async open<K>(options: KeyedStateBackendOptions<K>): Promise<KeyedStateBackend<K>> {
    const range = KeyedStateBackend.#checkOptions(options);
    const db = await Database.open(options.dir, backendDatabaseOptions(options));
    return KeyedStateBackend.#over(db, options, range);
  }

  /** A backend over an opened database; closes the database when the registry does not fit. */
  static async #over<K>(db: Database, options: KeyedStateBackendOptions<K>, range: KeyGroupRange): Promise<KeyedStateBackend<K>> {
    try {
      const backend = new KeyedStateBackend(db, options, range);
      backend.#loadOrInitInfo();
      await backend.#updateFilter();
      return backend;
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  static #checkOptions<K>(options: KeyedStateBackendOptions<K>): KeyGroupRange {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    if (typeof options.dir !== 'string' || options.dir.length === 0) throw new TypeError('dir must be a non-empty string');
    checkMaxParallelism(options.maxParallelism);
    const ks = options.keySerializer as Partial<TypeSerializer<K>> | undefined;
    if (typeof ks !== 'object' || ks === null || typeof ks.serialize !== 'function' || typeof ks.name !== 'string') {
      throw new TypeError('keySerializer must be a TypeSerializer');
    }
    const range = options.keyGroupRange instanceof KeyGroupRange ? options.keyGroupRange : KeyGroupRange.fromJSON(options.keyGroupRange);
    checkRangeWithin(range, options.maxParallelism);
    if (options.name !== undefined && (typeof options.name !== 'string' || !NAME.test(options.name))) {
      throw new RangeError(`name must match ${NAME.source}`);
    }
    const retain = options.retainCheckpoints;
    if (retain !== undefined && (typeof retain !== 'number' || !(retain >= 1) || (!Number.isSafeInteger(retain) && retain !== Infinity))) {
      throw new RangeError('retainCheckpoints must be an integer >= 1 or Infinity');
    }
    if (options.ttlTimeProvider !== undefined && typeof options.ttlTimeProvider !== 'function') throw new TypeError('ttlTimeProvider must be a function');
    return range;
  }

  /**
   * Builds a backend in `options.dir` (absent or empty) for `options.keyGroupRange` from
   * checkpoints of old backends: the same range, or rescaled (one old range split over several
   * new backends, or several merged into one). The handles must cover the range; see
   * rescale-restore.ts for how tables are reused and clipped.
   */
  static async restore<K>(options: KeyedStateRestoreOptions<K>): Promise<KeyedStateBackend<K>> {
    const range = KeyedStateBackend.#checkOptions(options);
    const storage = options.restoreStorage ?? options.checkpointStorage;
    if (storage === undefined) throw new TypeError('restore needs restoreStorage (or checkpointStorage) holding the handles\' checkpoints');
    const mode = options.restoreMode ?? 'no-claim';
    if (mode !== 'claim' && mode !== 'no-claim') throw new RangeError(`restoreMode must be 'claim' or 'no-claim'`);
    const db = await restoreRescaled({
      dir: options.dir,
      storage,
      handles: options.handles,
      maxParallelism: options.maxParallelism,
      keyGroupRange: range,
      keySerializerName: options.keySerializer.name,
      mode,
      databaseOptions: options,
    });
    return KeyedStateBackend.#over(db, options, range);
  }

  #info(): BackendInfo {
    return backendInfo(this.maxParallelism, this.keySerializer.name, this.keyGroupRange);
  }

  #loadOrInitInfo(): void {
    const raw = this.db.get(backendInfoKey());
    if (raw === undefined) {
      this.db.put(backendInfoKey(), encodeJson(this.#info()));
    } else {
      const info = checkBackendInfo(JSON.parse(new TextDecoder().decode(raw)));
      if (info.maxParallelism !== this.maxParallelism) {
        throw new RangeError(`the state in ${this.db.location} has maxParallelism ${info.maxParallelism}, not ${this.maxParallelism}`);
      }
      if (info.keySerializer !== this.keySerializer.name) {
        throw new RangeError(`the state in ${this.db.location} was written with key serializer ${info.keySerializer}, not ${this.keySerializer.name}`);
      }
      const stored = KeyGroupRange.fromJSON(info.keyGroupRange);
      if (!stored.equals(this.keyGroupRange)) {
        throw new RangeError(`the state in ${this.db.location} holds key groups ${stored.toString()}, not ${this.keyGroupRange.toString()}; use KeyedStateBackend.restore to rescale`);
      }
    }
    const it = this.db.iterator(stateEntryRange());
    try {
      for (const [, v] of it) {
        const e = checkStateEntry(JSON.parse(new TextDecoder().decode(v)));
        this.#entries.set(e.name, e);
      }
    } finally {
      it.close();
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('keyed-state backend is closed');
  }

  /** Registers (or finds) a state; the same name must keep its kind and serializers. */
  #register<N>(kind: StateKind, d: StateDescriptorBase<N>, valueSerializer: TypeSerializer<unknown>, userKeySerializer?: TypeSerializer<unknown>): StateSetup<K, N> {
    this.#checkOpen();
    if (typeof d !== 'object' || d === null) throw new TypeError('state descriptor must be an object');
    if (typeof d.name !== 'string' || d.name.length === 0) throw new TypeError('state name must be a non-empty string');
    checkSerializer(`state ${d.name}: value serializer`, valueSerializer);
    if (userKeySerializer !== undefined) checkSerializer(`state ${d.name}: user-key serializer`, userKeySerializer);
    const namespaceSerializer = (d.namespaceSerializer ?? Serializers.void) as TypeSerializer<N>;
    checkSerializer(`state ${d.name}: namespace serializer`, namespaceSerializer);
    const ttl = resolveTtl(d.ttl, d.name) ?? null;
    const wanted: Omit<StateEntry, 'id'> = {
      name: d.name,
      kind,
      namespaceSerializer: namespaceSerializer.name,
      valueSerializer: valueSerializer.name,
      userKeySerializer: userKeySerializer?.name ?? null,
      ttl,
    };
    let entry = this.#entries.get(d.name);
    if (entry !== undefined) {
      checkCompatible(entry, wanted);
      if (JSON.stringify(entry.ttl) !== JSON.stringify(ttl)) entry = { ...entry, ttl };
    } else {
      const used = new Set([...this.#entries.values()].map((e) => e.id));
      let id = 1;
      while (used.has(id)) id++;
      if (id >= MAX_STATE_ID) throw new RangeError(`too many states (at most ${MAX_STATE_ID - 1})`);
      entry = { ...wanted, id };
    }
    if (this.#entries.get(d.name) !== entry) {
      this.#entries.set(d.name, entry);
      this.db.put(stateEntryKey(d.name), encodeJson(entry));
      this.#scheduleFilterUpdate();
    }
    return { name: d.name, stateId: entry.id, context: this.#context, namespaceSerializer, ttl: ttl ?? undefined };
  }

  valueState<V, N = undefined>(d: ValueStateDescriptor<V, N>): ValueState<K, V, N> {
    const setup = this.#register<N>('value', d, d.valueSerializer as TypeSerializer<unknown>);
    return new ValueState<K, V, N>(setup, d.valueSerializer);
  }

  listState<E, N = undefined>(d: ListStateDescriptor<E, N>): ListState<K, E, N> {
    const setup = this.#register<N>('list', d, d.elementSerializer as TypeSerializer<unknown>);
    return new ListState<K, E, N>(setup, d.elementSerializer);
  }

  mapState<UK, UV, N = undefined>(d: MapStateDescriptor<UK, UV, N>): MapState<K, UK, UV, N> {
    const setup = this.#register<N>('map', d, d.valueSerializer as TypeSerializer<unknown>, d.userKeySerializer as TypeSerializer<unknown>);
    return new MapState<K, UK, UV, N>(setup, d.userKeySerializer, d.valueSerializer);
  }

  reducingState<V, N = undefined>(d: ReducingStateDescriptor<V, N>): ReducingState<K, V, N> {
    if (typeof d?.reduce !== 'function') throw new TypeError('reducingState needs a reduce function');
    const setup = this.#register<N>('reducing', d, d.valueSerializer as TypeSerializer<unknown>);
    return new ReducingState<K, V, N>(setup, d.valueSerializer, d.reduce);
  }

  aggregatingState<IN, ACC, OUT, N = undefined>(d: AggregatingStateDescriptor<IN, ACC, OUT, N>): AggregatingState<K, IN, ACC, OUT, N> {
    const a = d?.aggregate;
    if (typeof a !== 'object' || a === null || typeof a.createAccumulator !== 'function' || typeof a.add !== 'function' || typeof a.getResult !== 'function') {
      throw new TypeError('aggregatingState needs an aggregate { createAccumulator, add, getResult }');
    }
    const setup = this.#register<N>('aggregating', d, d.accumulatorSerializer as TypeSerializer<unknown>);
    return new AggregatingState<K, IN, ACC, OUT, N>(setup, d.accumulatorSerializer, a);
  }

  /** Names of every registered state (including those restored but not yet used), sorted. */
  stateNames(): string[] {
    return [...this.#entries.keys()].sort();
  }

  /** Registry entries (for restores and tools). */
  stateEntries(): StateEntry[] {
    return [...this.#entries.values()].sort((a, b) => a.id - b.id);
  }

  /** Deletes a state and everything in it; its name may then be registered again with another kind. */
  dropState(name: string): void {
    this.#checkOpen();
    const e = this.#entries.get(name);
    if (e === undefined) return;
    this.db.deleteRange(encodeStateId(e.id), encodeStateId(e.id + 1)); // ids stay below MAX_STATE_ID
    this.db.delete(stateEntryKey(name));
    this.#entries.delete(name);
    this.#scheduleFilterUpdate();
  }

  #filterOptions(): TtlFilterOptions {
    const states = [...this.#entries.values()]
      .filter((e) => e.ttl !== null && e.id !== REGISTRY_STATE_ID)
      .map((e) => ({ stateId: e.id, ttlMs: e.ttl!.ttlMs, list: e.kind === 'list' }));
    return this.#fixedClock ? { states, nowMs: this.#now() } : { states };
  }

  #updateFilter(): Promise<void> {
    return this.db.setCompactionFilterOptions(this.#filterOptions());
  }

  #scheduleFilterUpdate(): void {
    const next = this.#filterUpdate.then(() => this.#updateFilter());
    this.#filterUpdate = next.catch(() => undefined); // an error surfaces at the next checkpoint or compaction
    void next.catch(() => undefined);
  }

  /**
   * Compacts the whole database now, with the TTL filter's clock refreshed: expired entries
   * are removed from disk. (Background compactions clean up too, as they run.)
   */
  async compactAll(): Promise<void> {
    this.#checkOpen();
    await this.#filterUpdate;
    await this.#updateFilter();
    await this.db.compactRange();
  }

  #getCheckpointer(): Checkpointer {
    const storage = this.#storage;
    if (storage === undefined) throw new LsmError('LSM_NOT_SUPPORTED', 'this backend has no checkpointStorage');
    // Constructed synchronously (it starts itself on first use), so checkpoint() cuts at the call.
    this.#checkpointer ??= new Checkpointer(this.db, storage, { chain: this.name, mode: this.#checkpointMode, retain: this.#retain });
    return this.#checkpointer;
  }

  /** The metadata this backend records in its checkpoints. */
  checkpointInfo(): KeyedStateCheckpointInfo {
    return {
      kind: 'lsm-state.keyed-state',
      maxParallelism: this.maxParallelism,
      keySerializer: this.keySerializer.name,
      keyGroupRange: this.keyGroupRange.toJSON(),
      states: this.stateEntries(),
    };
  }

  /**
   * Checkpoints the state into the backend's storage (incremental by default): a short
   * synchronous freeze, then uploads. `checkpointId` is given by a coordinator; by default the
   * chain's next id.
   */
  async checkpoint(checkpointId?: number): Promise<KeyedStateCheckpoint> {
    this.#checkOpen();
    // Everything before the first await runs at the call: the checkpoint holds exactly the writes made before it.
    const pending = this.#getCheckpointer().checkpoint({
      ...(checkpointId === undefined ? {} : { checkpointId }),
      application: this.checkpointInfo(),
    });
    if (this.#fixedClock) this.#scheduleFilterUpdate(); // the test clock's time for the TTL filter
    const r = await pending;
    return {
      handle: {
        kind: 'lsm-state.keyed-state',
        chain: this.name,
        checkpointId: r.checkpointId,
        dbId: this.db.id,
        maxParallelism: this.maxParallelism,
        keyGroupRange: this.keyGroupRange.toJSON(),
      },
      uploadedBytes: r.uploadedBytes,
      referencedBytes: r.referencedBytes,
      newFiles: r.newFiles,
      reusedFiles: r.reusedFiles,
      writerBlockedMs: r.writerBlockedMs,
      durationMs: r.durationMs,
    };
  }

  /** Deletes checkpoint `checkpointId` of this backend's chain and the files only it referenced. */
  discardCheckpoint(checkpointId: number): Promise<void> {
    try {
      return this.#getCheckpointer().discard(checkpointId);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** This backend as a CheckpointCoordinator participant named after its chain. */
  participant(): KeyedStateParticipant {
    return {
      name: this.name,
      snapshot: async (id) => (await this.checkpoint(id)).handle,
      discard: (id) => this.discardCheckpoint(id),
    };
  }

  async flush(): Promise<void> {
    this.#checkOpen();
    await this.db.flush();
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#filterUpdate;
    await this.db.close();
  }
}

function checkSerializer(what: string, s: unknown): void {
  const t = s as Partial<TypeSerializer<unknown>> | null;
  if (typeof t !== 'object' || t === null || typeof t.name !== 'string' || typeof t.serialize !== 'function' || typeof t.deserialize !== 'function') {
    throw new TypeError(`${what} must be a TypeSerializer { name, fixedLength, serialize, deserialize }`);
  }
}
