/**
 * Keyed-state access benchmark (issue #5): KeyedStateBackend (src/state) side by side with the
 * same operations done by hand on classic-level (LevelDB 1.20), same data, same process, same key
 * bytes, median of the runs. Then checkpoint and rescaling-restore times for the benchmark's state.
 * Results and discussion: docs/benchmarks.md, "Keyed state".
 *
 *   npm run bench -- state [--keys 1000000] [--ops N] [--runs 3] [--batch-size 1000]
 *       [--engines lsm-state,classic-level] [--max-parallelism 128] [--no-checkpoint]
 *
 * Data: --keys keys `user:0001234` (Serializers.string), maxParallelism 128 (1-byte key-group
 * prefix), three states (registered in this order, so state ids 1, 2, 3):
 *   counter   ValueState<string, bigint>          (Serializers.int64)
 *   events    ListState<string, string>           small strings such as `click:/p/123`
 *   features  MapState<string, string, string>    user keys `f00`..`f15`, values such as `v:3f9a01c2`
 * Every key, element and value is pre-generated, and every access order is drawn up front from a
 * seeded xorshift PRNG (uniform over the keys), so generation is not timed and both engines see
 * the same operations.
 *
 * Phases (each engine in a fresh directory per run, timed one by one; --ops operations each):
 *   load        ValueState set of counter 0 for every key once, random order (not a target row:
 *               it makes every read-modify-write below a hit)
 *   value-rmw   get + set(counter + 1) of a random key
 *   list-add    add one element to the list of a random key
 *   map-put     put (random key, random user key) → small string
 *   map-get     get of the (key, user key) pairs map-put wrote, in another random order (all hits)
 * lsm-state: the KeyedStateBackend API with default options (wal off, as Flink's RocksDB backend),
 * one call per operation; the loop yields to the event loop every --batch-size operations, as a
 * stream task would between input buffers.
 * classic-level: the same byte layout computed with our key codec per operation
 * (Serializers.string → assignToKeyGroup → StateKeyLayout.entryKey) and the same value formats;
 * reads with db.getSync; writes in a chained batch of --batch-size puts, awaited; a small map of
 * the current batch's writes is consulted before getSync, so a read-modify-write sees its own
 * unwritten writes. LevelDB has no merge operator, so list-add is a read-modify-write there
 * (getSync, append the element, put). LevelDB keeps its log on (classic-level cannot turn it off;
 * it is not synced).
 *
 * After the phases of lsm-state (still open, background work still running): checkpoint to a
 * CheckpointStorage.directory on the same disk (the first checkpoint of the chain uploads every
 * table: the full state), restore 1 → 2 (each new backend timed alone, until open), checkpoint
 * both, restore 2 → 1; for each restored backend also the time until the background compactions
 * it started are idle, and its close. Restored backends are checked on a sample of keys.
 *
 * After both engines: both are reopened and, for a sample of keys (every 997th key and
 * pair), the stored bytes under the same key bytes are compared between the engines and against
 * the expected counter values and list lengths.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CheckpointStorage } from '../src/checkpoint/storage-factory.js';
import type { CheckpointStorage as Storage } from '../src/checkpoint/checkpoint-storage.js';
import { StateKeyLayout } from '../src/state/key-codec.js';
import { KeyGroupRange, assignToKeyGroup, keyGroupPrefixBytes, keyGroupRangeForOperator } from '../src/state/key-groups.js';
import { type KeyedStateHandle, KeyedStateBackend } from '../src/state/keyed-state-backend.js';
import { Serializers } from '../src/state/serializers.js';
import { decodeListElements, encodeListElements } from '../src/state/state-values.js';
import type { ListState, MapState, ValueState } from '../src/state/states.js';
import { Rng } from './rng.js';

const require = createRequire(import.meta.url);

export const ALL_ENGINES = ['lsm-state', 'classic-level'] as const;
export type EngineName = (typeof ALL_ENGINES)[number];
export const PHASES = ['load', 'value-rmw', 'list-add', 'map-put', 'map-get'] as const;
export type Phase = (typeof PHASES)[number];
const TARGET_PHASES: readonly Phase[] = ['value-rmw', 'list-add', 'map-put', 'map-get'];
const TARGET = 3;
const USER_KEYS = 16;
const ELEMENT_POOL = 1024;
const VALUE_POOL = 4093;
const SAMPLE_STRIDE = 997;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface StateBenchConfig {
  keys: number;
  ops: number;
  runs: number;
  warmup: number;
  batchSize: number;
  maxParallelism: number;
  engines: EngineName[];
  checkpoint: boolean;
  seed: number;
  dir: string;
  out: string | undefined;
  json: boolean;
}

export const USAGE = `state-bench: keyed-state access, lsm-state KeyedStateBackend vs the same operations on classic-level

Flags:
  --keys N             distinct keys (default 1000000)
  --ops N              operations per phase (default --keys)
  --runs N             runs; medians are reported (default 3)
  --warmup N           operations per phase of the untimed warm-up run on a small state (default min(keys, 50000); 0 = none)
  --batch-size N       classic-level: puts per awaited chained batch; lsm-state: operations between event-loop yields (default 1000)
  --max-parallelism N  key groups (default 128: 1-byte prefix)
  --engines LIST       comma list of ${ALL_ENGINES.join(', ')} (default both)
  --no-checkpoint      skip the checkpoint and rescale-restore measurements
  --seed N             PRNG seed (default 5)
  --dir PATH           where the temporary directories go (default the OS temp dir)
  --out PATH           JSON results file (default bench-results/state-bench-<timestamp>.json)
  --no-json            do not write the JSON results file
  -h, --help           this text`;

export function parseConfig(argv: string[]): StateBenchConfig | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      keys: { type: 'string' },
      ops: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      'batch-size': { type: 'string' },
      'max-parallelism': { type: 'string' },
      engines: { type: 'string' },
      'no-checkpoint': { type: 'boolean' },
      seed: { type: 'string' },
      dir: { type: 'string' },
      out: { type: 'string' },
      'no-json': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const int = (name: string, v: string | undefined, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (v === undefined) return dflt;
    if (!/^\d[\d_]*$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
    const n = Number(v.replaceAll('_', ''));
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}, got ${v}`);
    return n;
  };
  let engines: EngineName[] = [...ALL_ENGINES];
  if (values.engines !== undefined) {
    const items = values.engines.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    for (const item of items) {
      if (!ALL_ENGINES.includes(item as EngineName)) throw new UsageError(`--engines: unknown ${JSON.stringify(item)} (one of ${ALL_ENGINES.join(', ')})`);
    }
    if (items.length === 0) throw new UsageError('--engines is empty');
    engines = ALL_ENGINES.filter((e) => items.includes(e));
  }
  const keys = int('keys', values.keys, 1_000_000, 1, 2 ** 31 - 1);
  return {
    keys,
    ops: int('ops', values.ops, keys, 1, 2 ** 31 - 1),
    runs: int('runs', values.runs, 3, 1),
    warmup: int('warmup', values.warmup, Math.min(keys, 50_000), 0, 2 ** 31 - 1),
    batchSize: int('batch-size', values['batch-size'], 1000, 1),
    maxParallelism: int('max-parallelism', values['max-parallelism'], 128, 1, 32768),
    engines,
    checkpoint: !(values['no-checkpoint'] ?? false),
    seed: int('seed', values.seed, 5, 1),
    dir: values.dir ?? tmpdir(),
    out: values.out,
    json: !(values['no-json'] ?? false),
  };
}

// ---------------------------------------------------------------------------------------------
// Data


function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.uniform(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

function uniformDraws(count: number, n: number, rng: Rng): Int32Array {
  const a = new Int32Array(count);
  for (let i = 0; i < count; i++) a[i] = rng.uniform(n);
  return a;
}

export class StateDataset {
  readonly n: number;
  readonly ops: number;
  readonly keys: string[];
  readonly loadOrder: Int32Array;
  readonly valueKeys: Int32Array;
  readonly listKeys: Int32Array;
  readonly listElements: Uint16Array;
  readonly mapKeys: Int32Array;
  readonly mapUserKeys: Uint8Array;
  readonly mapValues: Uint16Array;
  /** Indexes into the map-put operations: the pairs map-get reads. */
  readonly mapGetOrder: Int32Array;
  readonly elementPool: string[];
  readonly valuePool: string[];
  readonly userKeyNames: string[];
  /** Expected counter per key after value-rmw (load sets 0). */
  readonly expectedCount: Int32Array;
  /** Expected list length per key after list-add. */
  readonly expectedListLength: Int32Array;

  constructor(n: number, ops: number, seed: number) {
    this.n = n;
    this.ops = ops;
    const rng = new Rng(seed);
    const width = Math.max(7, String(n - 1).length);
    this.keys = new Array<string>(n);
    for (let i = 0; i < n; i++) this.keys[i] = `user:${String(i).padStart(width, '0')}`;
    const pages = ['/p/', '/cart/', '/search?q=', '/home#'];
    const kinds = ['click', 'view', 'scroll', 'buy'];
    this.elementPool = Array.from({ length: ELEMENT_POOL }, () => `${kinds[rng.uniform(4)]!}:${pages[rng.uniform(4)]!}${rng.uniform(100_000)}`);
    this.valuePool = Array.from({ length: VALUE_POOL }, () => `v:${rng.next().toString(16).padStart(8, '0')}`);
    this.userKeyNames = Array.from({ length: USER_KEYS }, (_, i) => `f${String(i).padStart(2, '0')}`);
    this.loadOrder = permutation(n, rng);
    this.valueKeys = uniformDraws(ops, n, rng);
    this.listKeys = uniformDraws(ops, n, rng);
    this.listElements = new Uint16Array(ops);
    for (let i = 0; i < ops; i++) this.listElements[i] = rng.uniform(ELEMENT_POOL);
    this.mapKeys = uniformDraws(ops, n, rng);
    this.mapUserKeys = new Uint8Array(ops);
    for (let i = 0; i < ops; i++) this.mapUserKeys[i] = rng.uniform(USER_KEYS);
    this.mapValues = new Uint16Array(ops);
    for (let i = 0; i < ops; i++) this.mapValues[i] = rng.uniform(VALUE_POOL);
    this.mapGetOrder = permutation(ops, rng);
    this.expectedCount = new Int32Array(n);
    for (let i = 0; i < ops; i++) this.expectedCount[this.valueKeys[i]!]!++;
    this.expectedListLength = new Int32Array(n);
    for (let i = 0; i < ops; i++) this.expectedListLength[this.listKeys[i]!]!++;
  }
}

// ---------------------------------------------------------------------------------------------
// Engines

const COUNTER = { name: 'counter', valueSerializer: Serializers.int64 };
const EVENTS = { name: 'events', elementSerializer: Serializers.string };
const FEATURES = { name: 'features', userKeySerializer: Serializers.string, valueSerializer: Serializers.string };

interface PhaseResult {
  ops: number;
  /** Reads that found nothing where something was expected. */
  bad: number;
}

interface Engine {
  readonly name: EngineName;
  readonly version: string;
  readonly options: string;
  readonly api: Record<Phase, string>;
  open(dir: string): Promise<void>;
  run(phase: Phase, ds: StateDataset): Promise<PhaseResult>;
  /** Stored bytes under `key` (the same key bytes in both engines), for the cross-check. */
  rawGet(key: Uint8Array): Uint8Array | undefined;
  close(): Promise<void>;
}

function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

function projectVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '?';
  } catch {
    return '?';
  }
}

/** The key bytes of the benchmark's states, computed with our codec (what the peer uses). */
class KeyCodec {
  readonly #maxParallelism: number;
  readonly #layouts: StateKeyLayout[];
  static readonly EMPTY = new Uint8Array(0);
  constructor(maxParallelism: number, stateIds: readonly number[]) {
    this.#maxParallelism = maxParallelism;
    const prefix = keyGroupPrefixBytes(maxParallelism);
    this.#layouts = stateIds.map((stateId) => new StateKeyLayout({
      stateId, keyGroupPrefixBytes: prefix, keyFixedLength: Serializers.string.fixedLength, namespaceFixedLength: Serializers.void.fixedLength,
    }));
  }
  /** state: 0 counter, 1 events, 2 features. */
  key(state: 0 | 1 | 2, key: string, userKey?: string): Uint8Array {
    const kb = Serializers.string.serialize(key);
    const kg = assignToKeyGroup(kb, this.#maxParallelism);
    return this.#layouts[state]!.entryKey(kg, kb, KeyCodec.EMPTY, userKey === undefined ? undefined : Serializers.string.serialize(userKey));
  }
}

class LsmStateEngine implements Engine {
  readonly name = 'lsm-state' as const;
  readonly version = projectVersion();
  readonly options: string;
  readonly api: Record<Phase, string> = {
    load: 'ValueState.set',
    'value-rmw': 'ValueState.get + ValueState.set',
    'list-add': 'ListState.add (a merge operand: no read)',
    'map-put': 'MapState.put',
    'map-get': 'MapState.get',
  };
  #backend: KeyedStateBackend<string> | undefined;
  #counter: ValueState<string, bigint> | undefined;
  #events: ListState<string, string> | undefined;
  #features: MapState<string, string, string> | undefined;

  constructor(readonly maxParallelism: number, readonly batchSize: number) {
    this.options = `KeyedStateBackend.open defaults (wal off, lz4, writeBufferSize 64 MiB, blockCacheSize 32 MiB, leveled compaction), maxParallelism ${maxParallelism}, key-group range 0..${maxParallelism - 1}, checkpointStorage directory on the same disk`;
  }

  get backend(): KeyedStateBackend<string> {
    if (this.#backend === undefined) throw new Error('not open');
    return this.#backend;
  }

  async open(dir: string, storage?: Storage): Promise<void> {
    const b = await KeyedStateBackend.open({
      dir, maxParallelism: this.maxParallelism, keyGroupRange: KeyGroupRange.of(0, this.maxParallelism - 1), keySerializer: Serializers.string,
      ...(storage === undefined ? {} : { checkpointStorage: storage }), name: 'bench',
    });
    this.#backend = b;
    this.#counter = b.valueState(COUNTER);
    this.#events = b.listState(EVENTS);
    this.#features = b.mapState(FEATURES);
  }

  stateIds(): number[] {
    return [this.#counter!.stateId, this.#events!.stateId, this.#features!.stateId];
  }

  run(phase: Phase, ds: StateDataset): Promise<PhaseResult> {
    switch (phase) {
      case 'load': return this.load(ds);
      case 'value-rmw': return this.valueRmw(ds);
      case 'list-add': return this.listAdd(ds);
      case 'map-put': return this.mapPut(ds);
      case 'map-get': return this.mapGet(ds);
    }
  }

  /** Phase 'load'. */
  async load(ds: StateDataset): Promise<PhaseResult> {
    const B = this.batchSize;
    const { keys } = ds;
    const counter = this.#counter!;
    const order = ds.loadOrder;
    for (let i = 0; i < order.length;) {
      const end = Math.min(order.length, i + B);
      for (; i < end; i++) counter.set(keys[order[i]!]!, 0n);
      await turn();
    }
    return { ops: order.length, bad: 0 };
  }

  /** Phase 'value-rmw'. */
  async valueRmw(ds: StateDataset): Promise<PhaseResult> {
    const B = this.batchSize;
    const { keys } = ds;
    const counter = this.#counter!;
    const ks = ds.valueKeys;
    let bad = 0;
    for (let i = 0; i < ks.length;) {
      const end = Math.min(ks.length, i + B);
      for (; i < end; i++) {
        const k = keys[ks[i]!]!;
        const v = counter.get(k);
        if (v === undefined) bad++;
        counter.set(k, (v ?? 0n) + 1n);
      }
      await turn();
    }
    return { ops: ks.length, bad };
  }

  /** Phase 'list-add'. */
  async listAdd(ds: StateDataset): Promise<PhaseResult> {
    const B = this.batchSize;
    const { keys } = ds;
    const events = this.#events!;
    const ks = ds.listKeys;
    const els = ds.listElements;
    const pool = ds.elementPool;
    for (let i = 0; i < ks.length;) {
      const end = Math.min(ks.length, i + B);
      for (; i < end; i++) events.add(keys[ks[i]!]!, pool[els[i]!]!);
      await turn();
    }
    return { ops: ks.length, bad: 0 };
  }

  /** Phase 'map-put'. */
  async mapPut(ds: StateDataset): Promise<PhaseResult> {
    const B = this.batchSize;
    const { keys } = ds;
    const features = this.#features!;
    const ks = ds.mapKeys;
    const uks = ds.mapUserKeys;
    const vs = ds.mapValues;
    const { userKeyNames, valuePool } = ds;
    for (let i = 0; i < ks.length;) {
      const end = Math.min(ks.length, i + B);
      for (; i < end; i++) features.put(keys[ks[i]!]!, userKeyNames[uks[i]!]!, valuePool[vs[i]!]!);
      await turn();
    }
    return { ops: ks.length, bad: 0 };
  }

  /** Phase 'map-get'. */
  async mapGet(ds: StateDataset): Promise<PhaseResult> {
    const B = this.batchSize;
    const { keys } = ds;
    const features = this.#features!;
    const order = ds.mapGetOrder;
    const ks = ds.mapKeys;
    const uks = ds.mapUserKeys;
    const { userKeyNames } = ds;
    let bad = 0;
    for (let i = 0; i < order.length;) {
      const end = Math.min(order.length, i + B);
      for (; i < end; i++) {
        const j = order[i]!;
        if (features.get(keys[ks[j]!]!, userKeyNames[uks[j]!]!) === undefined) bad++;
      }
      await turn();
    }
    return { ops: order.length, bad };
  }

  rawGet(key: Uint8Array): Uint8Array | undefined {
    return this.backend.db.get(key);
  }

  async close(): Promise<void> {
    const b = this.#backend;
    this.#backend = undefined;
    await b?.close();
  }
}

// classic-level 3 (abstract-level 3): getSync and chained batches.
interface ChainedBatch {
  put(key: Uint8Array, value: Uint8Array): ChainedBatch;
  readonly length: number;
  write(): Promise<void>;
}
interface ClassicLevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
  batch(): ChainedBatch;
  getSync(key: Uint8Array): Uint8Array | undefined;
  supports: { getSync?: boolean };
}

class ClassicLevelEngine implements Engine {
  readonly name = 'classic-level' as const;
  readonly version = packageVersion('classic-level');
  readonly options = 'defaults: LevelDB 1.20, snappy, writeBufferSize 4 MiB, cacheSize 8 MiB, blockSize 4096, maxFileSize 2 MiB, bloom filter 10 bits/key, keyEncoding/valueEncoding view; its log is on (not synced) and cannot be turned off';
  readonly api: Record<Phase, string>;
  readonly #ctor: new (dir: string, opts: object) => ClassicLevelDb;
  readonly #codec: KeyCodec;
  #db: ClassicLevelDb | undefined;

  constructor(maxParallelism: number, stateIds: readonly number[], readonly batchSize: number) {
    this.#ctor = (require('classic-level') as { ClassicLevel: new (dir: string, opts: object) => ClassicLevelDb }).ClassicLevel;
    this.#codec = new KeyCodec(maxParallelism, stateIds);
    const b = `chained batch of ${batchSize} puts, awaited`;
    this.api = {
      load: `put in a ${b}`,
      'value-rmw': `getSync (or the current batch's own write) + put in a ${b}`,
      'list-add': `read-modify-write (no merge operator): getSync + append + put in a ${b}`,
      'map-put': `put in a ${b}`,
      'map-get': 'getSync',
    };
  }

  get db(): ClassicLevelDb {
    if (this.#db === undefined) throw new Error('not open');
    return this.#db;
  }

  async open(dir: string): Promise<void> {
    const db = new this.#ctor(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    if (db.supports.getSync !== true) throw new Error('this classic-level has no getSync');
    this.#db = db;
  }

  run(phase: Phase, ds: StateDataset): Promise<PhaseResult> {
    switch (phase) {
      case 'load': return this.load(ds);
      case 'value-rmw': return this.valueRmw(ds);
      case 'list-add': return this.listAdd(ds);
      case 'map-put': return this.mapPut(ds);
      case 'map-get': return this.mapGet(ds);
    }
  }

  /** Phase 'load'. */
  async load(ds: StateDataset): Promise<PhaseResult> {
    const db = this.db;
    const B = this.batchSize;
    const codec = this.#codec;
    const { keys } = ds;
    const i64 = Serializers.int64;
    const order = ds.loadOrder;
    for (let i = 0; i < order.length;) {
      const end = Math.min(order.length, i + B);
      const batch = db.batch();
      for (; i < end; i++) batch.put(codec.key(0, keys[order[i]!]!), i64.serialize(0n));
      await batch.write();
    }
    return { ops: order.length, bad: 0 };
  }

  /** Phase 'value-rmw'. */
  async valueRmw(ds: StateDataset): Promise<PhaseResult> {
    const db = this.db;
    const B = this.batchSize;
    const codec = this.#codec;
    const { keys } = ds;
    const i64 = Serializers.int64;
    const ks = ds.valueKeys;
    const pending = new Map<number, Uint8Array>();
    let bad = 0;
    for (let i = 0; i < ks.length;) {
      const end = Math.min(ks.length, i + B);
      const batch = db.batch();
      pending.clear();
      for (; i < end; i++) {
        const ki = ks[i]!;
        const k = codec.key(0, keys[ki]!);
        const cur = pending.get(ki) ?? db.getSync(k);
        if (cur === undefined) bad++;
        const next = i64.serialize((cur === undefined ? 0n : i64.deserialize(cur)) + 1n);
        batch.put(k, next);
        pending.set(ki, next);
      }
      await batch.write();
    }
    return { ops: ks.length, bad };
  }

  /** Phase 'list-add'. */
  async listAdd(ds: StateDataset): Promise<PhaseResult> {
    const db = this.db;
    const B = this.batchSize;
    const codec = this.#codec;
    const { keys } = ds;
    const str = Serializers.string;
    const ks = ds.listKeys;
    const els = ds.listElements;
    const pool = ds.elementPool;
    const pending = new Map<number, Uint8Array>();
    for (let i = 0; i < ks.length;) {
      const end = Math.min(ks.length, i + B);
      const batch = db.batch();
      pending.clear();
      for (; i < end; i++) {
        const ki = ks[i]!;
        const k = codec.key(1, keys[ki]!);
        const cur = pending.get(ki) ?? db.getSync(k);
        const el = encodeListElements([str.serialize(pool[els[i]!]!)], undefined);
        let next: Uint8Array;
        if (cur === undefined) next = el;
        else {
          next = new Uint8Array(cur.length + el.length);
          next.set(cur, 0);
          next.set(el, cur.length);
        }
        batch.put(k, next);
        pending.set(ki, next);
      }
      await batch.write();
    }
    return { ops: ks.length, bad: 0 };
  }

  /** Phase 'map-put'. */
  async mapPut(ds: StateDataset): Promise<PhaseResult> {
    const db = this.db;
    const B = this.batchSize;
    const codec = this.#codec;
    const { keys } = ds;
    const str = Serializers.string;
    const ks = ds.mapKeys;
    const uks = ds.mapUserKeys;
    const vs = ds.mapValues;
    const { userKeyNames, valuePool } = ds;
    for (let i = 0; i < ks.length;) {
      const end = Math.min(ks.length, i + B);
      const batch = db.batch();
      for (; i < end; i++) batch.put(codec.key(2, keys[ks[i]!]!, userKeyNames[uks[i]!]!), str.serialize(valuePool[vs[i]!]!));
      await batch.write();
    }
    return { ops: ks.length, bad: 0 };
  }

  /** Phase 'map-get'. */
  async mapGet(ds: StateDataset): Promise<PhaseResult> {
    const db = this.db;
    const B = this.batchSize;
    const codec = this.#codec;
    const { keys } = ds;
    const str = Serializers.string;
    const order = ds.mapGetOrder;
    const ks = ds.mapKeys;
    const uks = ds.mapUserKeys;
    const { userKeyNames } = ds;
    let bad = 0;
    for (let i = 0; i < order.length;) {
      const end = Math.min(order.length, i + B);
      for (; i < end; i++) {
        const j = order[i]!;
        const v = db.getSync(codec.key(2, keys[ks[j]!]!, userKeyNames[uks[j]!]!));
        if (v === undefined) bad++;
        else str.deserialize(v); // the value as a string, as MapState.get returns it
      }
      await turn(); // the same yields as lsm-state's loop
    }
    return { ops: order.length, bad };
  }

  rawGet(key: Uint8Array): Uint8Array | undefined {
    return this.db.getSync(key);
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    await db?.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Measurement

export function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) {
      try {
        total += statSync(p).size;
      } catch {
        // deleted meanwhile
      }
    }
  }
  return total;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

const load1 = (): string => loadavg()[0]!.toFixed(2);
const fmtInt = (x: number): string => Math.round(x).toLocaleString('en-US');
const mb = (x: number): string => (x / 1e6).toFixed(1);

export interface PhaseMeasurement {
  run: number;
  engine: EngineName;
  phase: Phase;
  ops: number;
  seconds: number;
  opsPerSec: number;
  bad: number;
  load1AtStart: string;
}

export interface CheckpointMeasurement {
  run: number;
  /** Size of the live database directory just before the checkpoint. */
  dbBytesBefore: number;
  checkpoint: { wallMs: number; durationMs: number; writerBlockedMs: number; uploadedBytes: number; referencedBytes: number; newFiles: number; storageBytes: number };
  /**
   * 1 → 2: each new backend restored alone from the one checkpoint. ms: until restore() returns
   * an open backend. settleMs: from after the sample check and its checkpoint until no compaction
   * has run for 3 polls (compactions: count and bytes written by then); closeMs: its close.
   */
  scaleOut: { range: string; ms: number; dirBytes: number; settleMs: number; closeMs: number; compactions: number; compactionBytes: number }[];
  /** Checkpoints of the two restored backends (the handles of the 2 → 1 restore). */
  scaleOutCheckpoints: { range: string; wallMs: number; uploadedBytes: number; referencedBytes: number }[];
  /** 2 → 1. */
  scaleIn: { range: string; ms: number; dirBytes: number; settleMs: number; closeMs: number; compactions: number; compactionBytes: number };
  /** Sampled counters that were wrong or missing in restored backends (must be 0). */
  bad: number;
}

/** Waits until the backend's database has had no running compaction for three polls 25 ms apart; returns its compaction counters. */
async function settle(b: KeyedStateBackend<string>): Promise<{ count: number; bytesWritten: number }> {
  for (let quiet = 0; quiet < 3;) {
    await new Promise((r) => setTimeout(r, 25));
    quiet = b.db.stats().compaction.running === 0 ? quiet + 1 : 0;
  }
  const c = b.db.stats().compaction;
  return { count: c.count, bytesWritten: c.bytesWritten };
}

async function timedMs<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

async function checkpointAndRescale(cfg: StateBenchConfig, ds: StateDataset, engine: LsmStateEngine, root: string, storage: Storage, run: number): Promise<CheckpointMeasurement> {
  const backend = engine.backend;
  const maxP = cfg.maxParallelism;
  const dbBytesBefore = dirBytes(backend.db.location);
  const [cp, cpMs] = await timedMs(() => backend.checkpoint());
  const storageRoot = join(root, 'checkpoints');
  const checkpoint = {
    wallMs: cpMs, durationMs: cp.durationMs, writerBlockedMs: cp.writerBlockedMs, uploadedBytes: cp.uploadedBytes, referencedBytes: cp.referencedBytes,
    newFiles: cp.newFiles, storageBytes: dirBytes(storageRoot),
  };
  log(`  run ${run + 1} checkpoint: ${cpMs.toFixed(0)} ms, uploaded ${mb(cp.uploadedBytes)} MB in ${cp.newFiles} files (db dir ${mb(dbBytesBefore)} MB)`);

  let bad = 0;
  const check = (b: KeyedStateBackend<string>): void => {
    const counter = b.valueState(COUNTER);
    const events = b.listState(EVENTS);
    for (let k = 0; k < ds.n; k += SAMPLE_STRIDE) {
      const key = ds.keys[k]!;
      if (!b.keyGroupRange.contains(assignToKeyGroup(Serializers.string.serialize(key), maxP))) continue;
      if (counter.get(key) !== BigInt(ds.expectedCount[k]!)) bad++;
      if (events.get(key).length !== ds.expectedListLength[k]) bad++;
    }
  };
  const restore = (dir: string, handles: KeyedStateHandle[], range: KeyGroupRange, name: string): Promise<KeyedStateBackend<string>> =>
    KeyedStateBackend.restore({
      dir: join(root, dir), maxParallelism: maxP, keyGroupRange: range, keySerializer: Serializers.string, checkpointStorage: storage, handles: handles, name,
    });

  const scaleOut: CheckpointMeasurement['scaleOut'] = [];
  const scaleOutCheckpoints: CheckpointMeasurement['scaleOutCheckpoints'] = [];
  const handles: KeyedStateHandle[] = [];
  for (let i = 0; i < 2; i++) {
    const range = keyGroupRangeForOperator(maxP, 2, i);
    const [b, ms] = await timedMs(() => restore(`scale2-${i}`, [cp.handle], range, `scale2-${i}`));
    let closeMs = 0;
    let settleMs = 0;
    let st = { count: 0, bytesWritten: 0 };
    let entry: CheckpointMeasurement['scaleOut'][number] | undefined;
    try {
      entry = { range: range.toString(), ms, dirBytes: dirBytes(b.db.location), settleMs: 0, closeMs: 0, compactions: 0, compactionBytes: 0 };
      check(b);
      const [c, cms] = await timedMs(() => b.checkpoint());
      handles.push(c.handle);
      scaleOutCheckpoints.push({ range: range.toString(), wallMs: cms, uploadedBytes: c.uploadedBytes, referencedBytes: c.referencedBytes });
      [st, settleMs] = await timedMs(() => settle(b));
    } finally {
      closeMs = (await timedMs(() => b.close()))[1];
    }
    scaleOut.push({ ...entry!, settleMs, closeMs, compactions: st.count, compactionBytes: st.bytesWritten });
    log(`  run ${run + 1} restore 1→2 [${range.toString()}]: ${ms.toFixed(0)} ms; compactions done ${settleMs.toFixed(0)} ms later; close ${closeMs.toFixed(0)} ms; ${st.count} compactions (${mb(st.bytesWritten)} MB written)`);
  }
  const full = KeyGroupRange.of(0, maxP - 1);
  const [merged, ms] = await timedMs(() => restore('scale1', handles, full, 'scale1'));
  let closeMs = 0;
  let settleMs = 0;
  let dirAfter = 0;
  let st = { count: 0, bytesWritten: 0 };
  try {
    dirAfter = dirBytes(merged.db.location);
    check(merged);
    [st, settleMs] = await timedMs(() => settle(merged));
  } finally {
    closeMs = (await timedMs(() => merged.close()))[1];
  }
  const scaleIn: CheckpointMeasurement['scaleIn'] = { range: full.toString(), ms, dirBytes: dirAfter, settleMs, closeMs, compactions: st.count, compactionBytes: st.bytesWritten };
  log(`  run ${run + 1} restore 2→1: ${ms.toFixed(0)} ms; compactions done ${settleMs.toFixed(0)} ms later; close ${closeMs.toFixed(0)} ms; ${st.count} compactions (${mb(st.bytesWritten)} MB written)${bad ? `, ${bad} BAD` : ''}`);
  for (const d of ['scale2-0', 'scale2-1', 'scale1']) rmSync(join(root, d), { recursive: true, force: true });
  return { run, dbBytesBefore, checkpoint, scaleOut, scaleOutCheckpoints, scaleIn, bad };
}

/** Reopens both engines' databases and compares stored bytes on a sample; returns mismatches. */
async function crossCheck(ds: StateDataset, lsm: LsmStateEngine, peer: ClassicLevelEngine | undefined, dirs: Map<EngineName, string>, codec: KeyCodec): Promise<{ compared: number; mismatches: number; expectedMismatches: number }> {
  await lsm.open(dirs.get('lsm-state')!);
  if (peer !== undefined) await peer.open(dirs.get('classic-level')!);
  let compared = 0;
  let mismatches = 0;
  let expectedMismatches = 0;
  const eq = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean => a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b));
  try {
    for (let k = 0; k < ds.n; k += SAMPLE_STRIDE) {
      const key = ds.keys[k]!;
      const vk = codec.key(0, key);
      const lk = codec.key(1, key);
      const ours = [lsm.rawGet(vk), lsm.rawGet(lk)];
      if (ours[0] === undefined || Serializers.int64.deserialize(ours[0]) !== BigInt(ds.expectedCount[k]!)) expectedMismatches++;
      const listLen = ours[1] === undefined ? 0 : decodeListElements(ours[1], false).length;
      if (listLen !== ds.expectedListLength[k]) expectedMismatches++;
      if (peer !== undefined) {
        compared += 2;
        if (!eq(ours[0], peer.rawGet(vk))) mismatches++;
        if ((ours[1] !== undefined || peer.rawGet(lk) !== undefined) && !eq(ours[1], peer.rawGet(lk))) mismatches++;
      }
    }
    if (peer !== undefined) {
      for (let j = 0; j < ds.ops; j += SAMPLE_STRIDE) {
        const mk = codec.key(2, ds.keys[ds.mapKeys[j]!]!, ds.userKeyNames[ds.mapUserKeys[j]!]!);
        compared++;
        if (!eq(lsm.rawGet(mk), peer.rawGet(mk))) mismatches++;
      }
    }
  } finally {
    await lsm.close();
    await peer?.close();
  }
  return { compared, mismatches, expectedMismatches };
}

// ---------------------------------------------------------------------------------------------
// Report

export interface PhaseSummary {
  phase: Phase;
  engine: EngineName;
  opsPerSec: number;
  runs: number[];
  api: string;
}

function render(cfg: StateBenchConfig, env: Record<string, string>, engines: Engine[], sums: PhaseSummary[], cps: CheckpointMeasurement[], checks: string[]): string {
  const get = (p: Phase, e: EngineName): PhaseSummary | undefined => sums.find((s) => s.phase === p && s.engine === e);
  const lines: string[] = [];
  lines.push(`## state-bench: ${fmtInt(cfg.keys)} keys, ${fmtInt(cfg.ops)} operations per phase, median of ${cfg.runs} run${cfg.runs === 1 ? '' : 's'}`);
  lines.push('');
  lines.push(`- ${env.date}; node ${env.node}; ${env.cpu} × ${env.nproc}; ${env.platform}; load average (1 min) per run start: ${env.loadPerRun}; at end ${env.loadavgAtEnd}`);
  lines.push(`- keys \`user:0001234\` (Serializers.string), maxParallelism ${cfg.maxParallelism}; counter int64, list elements and map values small strings (${ELEMENT_POOL}/${VALUE_POOL}-string pools), map user keys f00..f${USER_KEYS - 1}; uniform random access (seed ${cfg.seed}); batch ${cfg.batchSize}; warm-up ${fmtInt(cfg.warmup)} ops per phase`);
  lines.push('');
  const both = engines.length === 2;
  lines.push(`| operation | ${engines.map((e) => `${e.name} ops/s`).join(' | ')}${both ? ' | ratio of medians | ratio in each run | ≥ 3× |' : ' |'}`);
  lines.push(`|---|${engines.map(() => '---:').join('|')}${both ? '|---:|---:|---|' : '|'}`);
  const label: Record<Phase, string> = {
    load: 'initial load: ValueState set, every key once (not a target)',
    'value-rmw': 'ValueState read-modify-write',
    'list-add': 'ListState add',
    'map-put': 'MapState put',
    'map-get': 'MapState get',
  };
  for (const p of PHASES) {
    const cells = engines.map((e) => {
      const s = get(p, e.name);
      return s === undefined ? '–' : fmtInt(s.opsPerSec);
    });
    let tail = '';
    if (both) {
      const a = get(p, 'lsm-state');
      const b = get(p, 'classic-level');
      const r = a && b ? a.opsPerSec / b.opsPerSec : undefined;
      const perRun = a && b ? a.runs.map((x, i) => (b.runs[i] === undefined ? '–' : (x / b.runs[i]!).toFixed(2))).join(' / ') : '–';
      tail = ` | ${r === undefined ? '–' : `${r.toFixed(2)}×`} | ${perRun} | ${r === undefined || !TARGET_PHASES.includes(p) ? '' : r >= TARGET ? 'met' : '**not met**'} |`;
    } else tail = ' |';
    lines.push(`| ${label[p]} | ${cells.join(' | ')}${tail}`);
  }
  lines.push('');
  lines.push('How each engine does it:');
  lines.push('');
  for (const e of engines) lines.push(`- ${e.name}: ${PHASES.map((p) => `${p}: ${e.api[p]}`).join('; ')}`);
  lines.push('');
  if (cps.length > 0) {
    const m = (f: (c: CheckpointMeasurement) => number): number => median(cps.map(f));
    lines.push(`### Checkpoint and rescaling restore (lsm-state, median of ${cps.length})`);
    lines.push('');
    lines.push('| step | time | bytes |');
    lines.push('|---|---:|---:|');
    lines.push(`| checkpoint of the whole state (first of its chain: every table uploaded) to CheckpointStorage.directory | ${fmtInt(m((c) => c.checkpoint.wallMs))} ms (writer blocked ${m((c) => c.checkpoint.writerBlockedMs).toFixed(1)} ms) | ${mb(m((c) => c.checkpoint.uploadedBytes))} MB uploaded in ${fmtInt(m((c) => c.checkpoint.newFiles))} files; storage dir ${mb(m((c) => c.checkpoint.storageBytes))} MB; live db dir before ${mb(m((c) => c.dbBytesBefore))} MB |`);
    for (let i = 0; i < 2; i++) {
      lines.push(`| restore 1 → 2, backend ${i} (key groups ${cps[0]!.scaleOut[i]!.range}): until open | ${fmtInt(m((c) => c.scaleOut[i]!.ms))} ms | db dir ${mb(m((c) => c.scaleOut[i]!.dirBytes))} MB |`);
    }
    for (let i = 0; i < 2; i++) {
      lines.push(`| checkpoint of restored backend ${i} (handle for 2 → 1) | ${fmtInt(m((c) => c.scaleOutCheckpoints[i]!.wallMs))} ms | ${mb(m((c) => c.scaleOutCheckpoints[i]!.uploadedBytes))} MB uploaded, ${mb(m((c) => c.scaleOutCheckpoints[i]!.referencedBytes))} MB referenced |`);
    }
    lines.push(`| restore 2 → 1 (key groups ${cps[0]!.scaleIn.range}): until open | ${fmtInt(m((c) => c.scaleIn.ms))} ms | db dir ${mb(m((c) => c.scaleIn.dirBytes))} MB |`);
    for (let i = 0; i < 2; i++) {
      lines.push(`| restored backend ${i} (1 → 2): background compactions after its checkpoint, until idle; then close | ${fmtInt(m((c) => c.scaleOut[i]!.settleMs))} ms; close ${fmtInt(m((c) => c.scaleOut[i]!.closeMs))} ms | ${fmtInt(m((c) => c.scaleOut[i]!.compactions))} compactions, ${mb(m((c) => c.scaleOut[i]!.compactionBytes))} MB written |`);
    }
    lines.push(`| 2 → 1 backend: background compactions until idle; then close | ${fmtInt(m((c) => c.scaleIn.settleMs))} ms; close ${fmtInt(m((c) => c.scaleIn.closeMs))} ms | ${fmtInt(m((c) => c.scaleIn.compactions))} compactions, ${mb(m((c) => c.scaleIn.compactionBytes))} MB written |`);
    lines.push('');
  }
  for (const c of checks) lines.push(`- ${c}`);
  lines.push('');
  lines.push('Engines and options:');
  lines.push('');
  for (const e of engines) lines.push(`- ${e.name} ${e.version}: ${e.options}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

export interface StateBenchResult {
  config: StateBenchConfig;
  env: Record<string, string>;
  engines: { name: string; version: string; options: string; api: Record<Phase, string> }[];
  measurements: PhaseMeasurement[];
  summary: PhaseSummary[];
  targets: { phase: Phase; ratio: number | undefined; goal: number; met: boolean | undefined }[];
  checkpoints: CheckpointMeasurement[];
  checks: string[];
  markdown: string;
}

async function warmUp(cfg: StateBenchConfig, engines: Engine[], root: string): Promise<void> {
  if (cfg.warmup === 0) return;
  const ds = new StateDataset(cfg.warmup, cfg.warmup, cfg.seed + 1);
  for (const e of engines) {
    const dir = mkdtempSync(join(root, `warmup-${e.name}-`));
    await e.open(dir);
    try {
      for (const p of PHASES) await e.run(p, ds);
    } finally {
      await e.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<StateBenchResult | undefined> {
  const cfg = parseConfig(argv);
  if (cfg === 'help') {
    console.log(USAGE);
    return undefined;
  }
  const lsm = new LsmStateEngine(cfg.maxParallelism, cfg.batchSize);
  // State ids as the backend assigns them (registry 0, then registration order); checked below.
  const stateIds = [1, 2, 3];
  const codec = new KeyCodec(cfg.maxParallelism, stateIds);
  const peer = cfg.engines.includes('classic-level') ? new ClassicLevelEngine(cfg.maxParallelism, stateIds, cfg.batchSize) : undefined;
  const engines: Engine[] = [lsm, ...(peer ? [peer] : [])].filter((e) => cfg.engines.includes(e.name));
  if (!cfg.engines.includes('lsm-state') && cfg.checkpoint) log('note: checkpoints need lsm-state; skipping them');
  const env: Record<string, string> = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown cpu',
    nproc: String(cpus().length),
    memGiB: (totalmem() / 2 ** 30).toFixed(0),
    platform: `${process.platform}/${process.arch}`,
    loadavgAtStart: loadavg().map((x) => x.toFixed(2)).join(' '),
    loadPerRun: '',
    loadavgAtEnd: '',
  };
  log(`state-bench: keys ${cfg.keys}, ops ${cfg.ops}, runs ${cfg.runs}, engines ${engines.map((e) => e.name).join(',')}, load ${env.loadavgAtStart}`);
  const t0 = performance.now();
  const ds = new StateDataset(cfg.keys, cfg.ops, cfg.seed);
  log(`data generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  mkdirSync(cfg.dir, { recursive: true });

  const top = mkdtempSync(join(cfg.dir, 'lsm-state-bench-'));
  const measurements: PhaseMeasurement[] = [];
  const cps: CheckpointMeasurement[] = [];
  const checks: string[] = [];
  const loads: string[] = [];
  let totalBad = 0;
  try {
    await warmUp(cfg, engines, top);
    log(`warm-up done (${fmtInt(cfg.warmup)} ops per phase per engine)`);
    for (let run = 0; run < cfg.runs; run++) {
      loads.push(load1());
      const root = mkdtempSync(join(top, `run${run}-`));
      const dirs = new Map<EngineName, string>();
      const order = engines.map((_, i) => engines[(i + run) % engines.length]!);
      try {
        for (const engine of order) {
          const dir = join(root, engine.name);
          dirs.set(engine.name, dir);
          if (engine === lsm) await lsm.open(dir, CheckpointStorage.directory(join(root, 'checkpoints')));
          else await engine.open(dir);
          try {
            if (engine === lsm) {
              const ids = lsm.stateIds();
              if (ids.join() !== stateIds.join()) throw new Error(`state ids ${ids.join()} differ from the peer's layout ${stateIds.join()}`);
            }
            for (const phase of PHASES) {
              const l = load1();
              const t = performance.now();
              const r = await engine.run(phase, ds);
              const seconds = (performance.now() - t) / 1000;
              const m: PhaseMeasurement = { run, engine: engine.name, phase, ops: r.ops, seconds, opsPerSec: r.ops / seconds, bad: r.bad, load1AtStart: l };
              measurements.push(m);
              totalBad += r.bad;
              log(`  run ${run + 1} ${engine.name} ${phase}: ${fmtInt(m.opsPerSec)} ops/s (${seconds.toFixed(2)} s, load ${l})${r.bad ? `, ${r.bad} MISSING` : ''}`);
            }
            if (engine === lsm && cfg.checkpoint) {
              const c = await checkpointAndRescale(cfg, ds, lsm, root, CheckpointStorage.directory(join(root, 'checkpoints')), run);
              cps.push(c);
              totalBad += c.bad;
            }
          } finally {
            await engine.close();
          }
        }
        if (dirs.has('lsm-state')) {
          const x = await crossCheck(ds, lsm, peer && dirs.has('classic-level') ? peer : undefined, dirs, codec);
          totalBad += x.mismatches + x.expectedMismatches;
          checks.push(`run ${run + 1}: after reopening, ${fmtInt(x.compared)} sampled entries compared byte for byte between the engines under the same key bytes: ${x.mismatches} differ; lsm-state counters and list lengths vs the expected ones on every ${SAMPLE_STRIDE}th key: ${x.expectedMismatches} wrong`);
          log(`  run ${run + 1} cross-check: ${x.mismatches} mismatches of ${x.compared}, ${x.expectedMismatches} wrong vs expected`);
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
  env.loadPerRun = loads.join(', ');
  env.loadavgAtEnd = loadavg().map((x) => x.toFixed(2)).join(' ');
  const bad = measurements.reduce((n, m) => n + m.bad, 0);
  checks.push(`reads that found nothing where a value was expected: ${bad}; restored backends' sampled counters/list lengths wrong: ${cps.reduce((n, c) => n + c.bad, 0)}`);

  const summary: PhaseSummary[] = [];
  for (const e of engines) {
    for (const p of PHASES) {
      const xs = measurements.filter((m) => m.engine === e.name && m.phase === p).map((m) => m.opsPerSec);
      if (xs.length > 0) summary.push({ phase: p, engine: e.name, opsPerSec: median(xs), runs: xs, api: e.api[p] });
    }
  }
  const targets = TARGET_PHASES.map((phase) => {
    const a = summary.find((s) => s.phase === phase && s.engine === 'lsm-state');
    const b = summary.find((s) => s.phase === phase && s.engine === 'classic-level');
    const ratio = a && b ? a.opsPerSec / b.opsPerSec : undefined;
    return { phase, ratio, goal: TARGET, met: ratio === undefined ? undefined : ratio >= TARGET };
  });
  const markdown = render(cfg, env, engines, summary, cps, checks);
  console.log(`${markdown}\n`);
  const result: StateBenchResult = {
    config: cfg,
    env,
    engines: engines.map((e) => ({ name: e.name, version: e.version, options: e.options, api: e.api })),
    measurements,
    summary,
    targets,
    checkpoints: cps,
    checks,
    markdown,
  };
  if (cfg.json) {
    const file = cfg.out ?? join('bench-results', `state-bench-${env.date!.replace(/[:.]/g, '-')}.json`);
    mkdirSync(resolve(file, '..'), { recursive: true });
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    log(`results: ${file}`);
  }
  log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (totalBad > 0) {
    process.exitCode = 1;
    log(`WRONG RESULTS: ${totalBad}`);
  }
  return result;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  });
}
