/**
 * db_bench-like benchmark (issue #2): lsm-state side by side with classic-level (LevelDB 1.20)
 * and rocksdb (the `rocksdb` npm package, RocksDB 6.17), same data, same process, one engine
 * after the other within each run, median of the runs. Results and discussion: docs/benchmarks.md.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/run.js db [--num 1000000] [--runs 3]
 *       [--engines lsm-state,lsm-state-snappy,classic-level,rocksdb] [--workloads fillseq,...]
 *
 * Data (LevelDB's db_bench defaults): 16-byte keys ("%016d" of an integer in [0, num)),
 * 100-byte values with compression_ratio 0.5 (50 random printable bytes from a seeded PRNG,
 * repeated to 100), taken from a pre-generated pool so generation is not measured. Key buffers
 * and the random orders are pre-generated too.
 *
 * Workloads (each engine in a fresh temporary directory per run):
 * - fillseq: num keys in order. lsm-state: synchronous db.put each; peers: db.batch of
 *   --batch-size entries (an awaited put per key is too slow for 1M keys).
 * - fillrandom: num keys in a random order (a permutation: every key once, so every later read
 *   hits). lsm-state: synchronous db.put each; peers: awaited db.put one at a time, on
 *   min(num, --single-num) keys.
 * - fillrandom-batch: as fillrandom, in write batches of --batch-size entries, all engines.
 * - overwrite: num puts of uniformly random existing keys on the fillseq database after a
 *   reopen. lsm-state: single puts; peers: batches.
 * - readrandom: the fillrandom-batch database closed and reopened, then num gets of uniformly
 *   random existing keys. lsm-state: db.get (synchronous); classic-level: db.getSync;
 *   rocksdb: awaited db.get one at a time (its only read API).
 * - readseq: a full forward scan of the same database. lsm-state: for-of over db.iterator();
 *   classic-level: iterator.nextv(1000); rocksdb: iterator.next callbacks (it fetches batches).
 * A workload that needs a database nobody filled yet gets it from an unmeasured fill.
 *
 * Bytes written: the process's write() syscall bytes (/proc/self/io wchar, Linux only) from the
 * start of a fill to the end of its close, for every engine (the worker, LevelDB and RocksDB
 * threads included); for lsm-state also WAL + flush + compaction bytes from db.stats() at the end of the
 * fill; for peers also the size of the directory after close, a lower bound.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveOptions } from '../src/db/options.js';
import { Database, WriteBatch, type DatabaseOptions } from '../src/index.js';
import { Rng } from './rng.js';

const require = createRequire(import.meta.url);

export const KEY_SIZE = 16;
export const VALUE_SIZE = 100;
const VALUE_POOL = 16381; // prime, so value choice does not line up with key patterns

export const ALL_WORKLOADS = ['fillseq', 'fillrandom', 'fillrandom-batch', 'overwrite', 'readrandom', 'readseq'] as const;
export type Workload = (typeof ALL_WORKLOADS)[number];
export const ALL_ENGINES = ['lsm-state', 'lsm-state-snappy', 'classic-level', 'rocksdb'] as const;
export type EngineName = (typeof ALL_ENGINES)[number];
const FILLS: readonly Workload[] = ['fillseq', 'fillrandom', 'fillrandom-batch', 'overwrite'];

/** A bad flag or value: the CLI exits with code 2 for these. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface BenchConfig {
  num: number;
  runs: number;
  singleNum: number;
  reads: number;
  batchSize: number;
  engines: EngineName[];
  workloads: Workload[];
  seed: number;
  dir: string;
  out: string | undefined;
  json: boolean;
}

export const USAGE = `db-bench: db_bench-like workloads for lsm-state, classic-level and rocksdb

Flags:
  --num N            keys per fill and operations per read workload (default 1000000)
  --runs N           runs per engine; the median is reported (default 3)
  --single-num N     keys for the peers' awaited single-put fillrandom (default min(num, 100000))
  --reads N          gets in readrandom (default num)
  --batch-size N     entries per write batch (default 1000)
  --engines LIST     comma list of ${ALL_ENGINES.join(', ')} (default all)
  --workloads LIST   comma list of ${ALL_WORKLOADS.join(', ')} (default all)
  --seed N           PRNG seed (default 301)
  --dir PATH         where the temporary database directories go (default the OS temp dir)
  --out PATH         JSON results file (default bench-results/db-bench-<timestamp>.json)
  --no-json          do not write the JSON results file
  -h, --help         this text`;

export function parseConfig(argv: string[], defaults: Partial<BenchConfig> = {}): BenchConfig | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      num: { type: 'string' },
      runs: { type: 'string' },
      'single-num': { type: 'string' },
      reads: { type: 'string' },
      'batch-size': { type: 'string' },
      engines: { type: 'string' },
      workloads: { type: 'string' },
      seed: { type: 'string' },
      dir: { type: 'string' },
      out: { type: 'string' },
      'no-json': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const int = (name: string, v: string | undefined, dflt: number, min: number): number => {
    if (v === undefined) return dflt;
    if (!/^\d[\d_]*$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
    const n = Number(v.replaceAll('_', ''));
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${v}`);
    return n;
  };
  const list = <T extends string>(name: string, v: string | undefined, all: readonly T[], dflt: readonly T[]): T[] => {
    if (v === undefined) return [...dflt];
    const items = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    for (const item of items) {
      if (!all.includes(item as T)) throw new UsageError(`--${name}: unknown ${JSON.stringify(item)} (one of ${all.join(', ')})`);
    }
    if (items.length === 0) throw new UsageError(`--${name} is empty`);
    return all.filter((a) => items.includes(a)); // canonical order
  };
  const num = int('num', values.num, defaults.num ?? 1_000_000, 1);
  return {
    num,
    runs: int('runs', values.runs, defaults.runs ?? 3, 1),
    singleNum: Math.min(num, int('single-num', values['single-num'], defaults.singleNum ?? 100_000, 1)),
    reads: int('reads', values.reads, defaults.reads ?? num, 1),
    batchSize: int('batch-size', values['batch-size'], defaults.batchSize ?? 1000, 1),
    engines: list('engines', values.engines, ALL_ENGINES, defaults.engines ?? ALL_ENGINES),
    workloads: list('workloads', values.workloads, ALL_WORKLOADS, defaults.workloads ?? ALL_WORKLOADS),
    seed: int('seed', values.seed, defaults.seed ?? 301, 1),
    dir: values.dir ?? defaults.dir ?? tmpdir(),
    out: values.out ?? defaults.out,
    json: !(values['no-json'] ?? false) && (defaults.json ?? true),
  };
}

// ---------------------------------------------------------------------------------------------
// Data


export class Dataset {
  readonly n: number;
  /** keys[k] = "%016d" of k, a 16-byte Buffer view over one flat allocation. */
  readonly keys: Buffer[];
  readonly values: Buffer[];
  /** A random permutation of [0, n): the fillrandom order. */
  readonly perm: Int32Array;
  /** n uniform draws in [0, n): overwrite keys. */
  readonly overwriteKeys: Int32Array;
  /** n uniform draws in [0, n): readrandom keys. */
  readonly readKeys: Int32Array;

  constructor(n: number, reads: number, seed: number) {
    this.n = n;
    const rng = new Rng(seed);
    const flatKeys = Buffer.allocUnsafeSlow(n * KEY_SIZE);
    this.keys = new Array<Buffer>(n);
    for (let k = 0; k < n; k++) {
      flatKeys.write(String(k).padStart(KEY_SIZE, '0'), k * KEY_SIZE, 'latin1');
      this.keys[k] = flatKeys.subarray(k * KEY_SIZE, (k + 1) * KEY_SIZE);
    }
    // db_bench RandomGenerator with compression_ratio 0.5: 50 random printable bytes, repeated.
    const flatValues = Buffer.allocUnsafeSlow(VALUE_POOL * VALUE_SIZE);
    this.values = new Array<Buffer>(VALUE_POOL);
    const raw = Math.floor(VALUE_SIZE * 0.5);
    for (let i = 0; i < VALUE_POOL; i++) {
      const base = i * VALUE_SIZE;
      for (let j = 0; j < raw; j++) flatValues[base + j] = 0x20 + rng.uniform(95);
      for (let j = raw; j < VALUE_SIZE; j++) flatValues[base + j] = flatValues[base + j - raw]!;
      this.values[i] = flatValues.subarray(base, base + VALUE_SIZE);
    }
    this.perm = new Int32Array(n);
    for (let i = 0; i < n; i++) this.perm[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = rng.uniform(i + 1);
      const t = this.perm[i]!;
      this.perm[i] = this.perm[j]!;
      this.perm[j] = t;
    }
    this.overwriteKeys = new Int32Array(n);
    for (let i = 0; i < n; i++) this.overwriteKeys[i] = rng.uniform(n);
    this.readKeys = new Int32Array(reads);
    for (let i = 0; i < reads; i++) this.readKeys[i] = rng.uniform(n);
  }

  /** The value written for key k by a fill (shift 0) or by overwrite (shift 1). */
  valueFor(k: number, shift: number): Buffer {
    return this.values[((Math.imul(k, 0x9e3779b1) >>> 0) + shift) % VALUE_POOL]!;
  }
}

// ---------------------------------------------------------------------------------------------
// Engines

/** Key order of a fill: null means 0, 1, 2, ... */
type Order = Int32Array | null;

interface ReadResult {
  ops: number;
  /** Missing keys or wrong values: should be 0 (every key read exists). */
  bad: number;
  bytes: number;
}

interface Engine {
  readonly name: EngineName;
  readonly version: string;
  /** The options used, for the report. */
  readonly options: string;
  /** True when single puts are synchronous (fillrandom runs at full num). */
  readonly syncPuts: boolean;
  /** What fillseq / overwrite use. */
  readonly fillMode: 'single' | 'batch';
  readonly readApi: string;
  open(dir: string): Promise<void>;
  close(): Promise<void>;
  putEach(ds: Dataset, order: Order, count: number, shift: number): Promise<void>;
  putBatches(ds: Dataset, order: Order, count: number, batchSize: number, shift: number): Promise<void>;
  readRandom(ds: Dataset, order: Int32Array, count: number): Promise<ReadResult>;
  readSeq(): Promise<ReadResult>;
  /** Engine counters worth keeping (lsm-state: db.stats()). */
  stats(): Record<string, unknown> | undefined;
}

function keyOf(order: Order, i: number): number {
  return order === null ? i : order[i]!;
}

function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

function checkValue(ds: Dataset, k: number, i: number, v: Uint8Array | undefined | null): number {
  if (v === undefined || v === null || v.length !== VALUE_SIZE) return 1;
  // A full comparison on every 256th read keeps the check cheap.
  if ((i & 255) === 0 && !Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(ds.valueFor(k, 0))) return 1;
  return 0;
}

function packageVersion(name: string): string {
  try {
    const main = require.resolve(name);
    let dir = main;
    for (let i = 0; i < 5; i++) {
      dir = resolve(dir, '..');
      const p = join(dir, 'package.json');
      if (existsSync(p)) {
        const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name) return pkg.version ?? '?';
      }
    }
  } catch {
    // fall through
  }
  return '?';
}

class LsmStateEngine implements Engine {
  readonly syncPuts = true;
  readonly fillMode = 'single' as const;
  readonly readApi = 'db.get (synchronous)';
  readonly version: string;
  readonly options: string;
  #db: Database | undefined;

  constructor(readonly name: EngineName, private readonly dbOptions: DatabaseOptions) {
    this.version = projectVersion();
    const { fileSystem: _fs, ...resolved } = resolveOptions(dbOptions);
    const show = (v: unknown): string => {
      if (typeof v === 'number') return v >= 1 << 20 && v % (1 << 20) === 0 ? `${v / (1 << 20)} MiB` : String(v);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        return `{${Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => `${k} ${show(x)}`).join(', ')}}`;
      }
      return String(v);
    };
    const shown = Object.entries(resolved).filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${show(v)}`);
    this.options = `${Object.keys(dbOptions).length === 0 ? 'defaults' : `defaults except ${JSON.stringify(dbOptions)}`}: ${shown.join(', ')}`;
  }

  get db(): Database {
    if (this.#db === undefined) throw new Error('not open');
    return this.#db;
  }

  async open(dir: string): Promise<void> {
    this.#db = await Database.open(dir, this.dbOptions);
  }

  async close(): Promise<void> {
    await this.#db?.close();
    this.#db = undefined;
  }

  async putEach(ds: Dataset, order: Order, count: number, shift: number): Promise<void> {
    const db = this.db;
    const { keys } = ds;
    for (let i = 0; i < count; i++) {
      const k = keyOf(order, i);
      db.put(keys[k]!, ds.valueFor(k, shift));
    }
    await turn(); // the end-of-turn WAL flush hands the last buffered bytes to the OS
  }

  async putBatches(ds: Dataset, order: Order, count: number, batchSize: number, shift: number): Promise<void> {
    const db = this.db;
    const { keys } = ds;
    const batch = new WriteBatch();
    for (let i = 0; i < count;) {
      batch.clear();
      const end = Math.min(count, i + batchSize);
      for (; i < end; i++) {
        const k = keyOf(order, i);
        batch.put(keys[k]!, ds.valueFor(k, shift));
      }
      db.write(batch);
    }
    await turn();
  }

  async readRandom(ds: Dataset, order: Int32Array, count: number): Promise<ReadResult> {
    const db = this.db;
    const { keys } = ds;
    let bad = 0;
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const k = order[i]!;
      const v = db.get(keys[k]!);
      bad += checkValue(ds, k, i, v);
      bytes += v?.length ?? 0;
    }
    return { ops: count, bad, bytes };
  }

  async readSeq(): Promise<ReadResult> {
    let ops = 0;
    let bytes = 0;
    for (const [k, v] of this.db.iterator()) {
      ops++;
      bytes += k.length + v.length;
    }
    return { ops, bad: 0, bytes };
  }

  stats(): Record<string, unknown> | undefined {
    return this.#db?.stats() as unknown as Record<string, unknown>;
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

// classic-level 3 (abstract-level 3): promise API, getSync, iterator.nextv.
interface ClassicLevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  batch(ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[]): Promise<void>;
  getSync(key: Uint8Array): Uint8Array | undefined;
  iterator(): { nextv(size: number): Promise<[Uint8Array, Uint8Array][]>; close(): Promise<void> };
  getProperty(name: string): string;
}

class ClassicLevelEngine implements Engine {
  readonly name = 'classic-level' as const;
  readonly syncPuts = false;
  readonly fillMode = 'batch' as const;
  readonly readApi = 'db.getSync';
  readonly version = packageVersion('classic-level');
  readonly options = 'defaults: LevelDB 1.20, compression snappy, writeBufferSize 4 MiB, cacheSize 8 MiB, blockSize 4096, maxFileSize 2 MiB, bloom filter 10 bits/key, keyEncoding/valueEncoding view';
  #db: ClassicLevelDb | undefined;
  readonly #ctor: new (dir: string, opts: object) => ClassicLevelDb;

  constructor() {
    this.#ctor = (require('classic-level') as { ClassicLevel: new (dir: string, opts: object) => ClassicLevelDb }).ClassicLevel;
  }

  get db(): ClassicLevelDb {
    if (this.#db === undefined) throw new Error('not open');
    return this.#db;
  }

  async open(dir: string): Promise<void> {
    const db = new this.#ctor(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    this.#db = db;
  }

  async close(): Promise<void> {
    await this.#db?.close();
    this.#db = undefined;
  }

  async putEach(ds: Dataset, order: Order, count: number, shift: number): Promise<void> {
    const db = this.db;
    for (let i = 0; i < count; i++) {
      const k = keyOf(order, i);
      await db.put(ds.keys[k]!, ds.valueFor(k, shift));
    }
  }

  async putBatches(ds: Dataset, order: Order, count: number, batchSize: number, shift: number): Promise<void> {
    const db = this.db;
    for (let i = 0; i < count;) {
      const end = Math.min(count, i + batchSize);
      const ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[] = [];
      for (; i < end; i++) {
        const k = keyOf(order, i);
        ops.push({ type: 'put', key: ds.keys[k]!, value: ds.valueFor(k, shift) });
      }
      await db.batch(ops);
    }
  }

  async readRandom(ds: Dataset, order: Int32Array, count: number): Promise<ReadResult> {
    const db = this.db;
    let bad = 0;
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const k = order[i]!;
      const v = db.getSync(ds.keys[k]!);
      bad += checkValue(ds, k, i, v);
      bytes += v?.length ?? 0;
    }
    return { ops: count, bad, bytes };
  }

  async readSeq(): Promise<ReadResult> {
    const it = this.db.iterator();
    let ops = 0;
    let bytes = 0;
    try {
      for (;;) {
        const entries = await it.nextv(1000);
        if (entries.length === 0) break;
        for (const [k, v] of entries) {
          ops++;
          bytes += k.length + v.length;
        }
      }
    } finally {
      await it.close();
    }
    return { ops, bad: 0, bytes };
  }

  stats(): Record<string, unknown> | undefined {
    try {
      return { leveldbStats: this.#db?.getProperty('leveldb.stats') };
    } catch {
      return undefined;
    }
  }
}

// rocksdb 5 (abstract-leveldown 7): callback API only.
type Cb<T = void> = (err: Error | null | undefined, value?: T) => void;
interface RocksDb {
  open(cb: Cb): void;
  close(cb: Cb): void;
  put(key: Buffer, value: Buffer, cb: Cb): void;
  batch(ops: { type: 'put'; key: Buffer; value: Buffer }[], cb: Cb): void;
  get(key: Buffer, cb: Cb<Buffer>): void;
  iterator(): { next(cb: (err: Error | null | undefined, key?: Buffer, value?: Buffer) => void): void; end(cb: Cb): void };
  getProperty(name: string): string;
}

function call<T = void>(fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise((res, rej) => fn((err, v) => (err ? rej(err) : res(v as T))));
}

class RocksDbEngine implements Engine {
  readonly name = 'rocksdb' as const;
  readonly syncPuts = false;
  readonly fillMode = 'batch' as const;
  readonly readApi = 'db.get awaited one at a time (no synchronous get)';
  readonly version = packageVersion('rocksdb');
  readonly options = 'defaults of the rocksdb package: RocksDB 6.17.3, compression snappy, writeBufferSize 4 MiB, cacheSize 8 MiB, blockSize 4096, bloom filter 10 bits/key, RocksDB defaults otherwise (level compaction)';
  #db: RocksDb | undefined;
  readonly #factory: (dir: string) => RocksDb;

  constructor() {
    this.#factory = require('rocksdb') as (dir: string) => RocksDb;
  }

  get db(): RocksDb {
    if (this.#db === undefined) throw new Error('not open');
    return this.#db;
  }

  async open(dir: string): Promise<void> {
    const db = this.#factory(dir);
    await call((cb) => db.open(cb));
    this.#db = db;
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    if (db !== undefined) await call((cb) => db.close(cb));
  }

  async putEach(ds: Dataset, order: Order, count: number, shift: number): Promise<void> {
    const db = this.db;
    for (let i = 0; i < count; i++) {
      const k = keyOf(order, i);
      await call((cb) => db.put(ds.keys[k]!, ds.valueFor(k, shift), cb));
    }
  }

  async putBatches(ds: Dataset, order: Order, count: number, batchSize: number, shift: number): Promise<void> {
    const db = this.db;
    for (let i = 0; i < count;) {
      const end = Math.min(count, i + batchSize);
      const ops: { type: 'put'; key: Buffer; value: Buffer }[] = [];
      for (; i < end; i++) {
        const k = keyOf(order, i);
        ops.push({ type: 'put', key: ds.keys[k]!, value: ds.valueFor(k, shift) });
      }
      await call((cb) => db.batch(ops, cb));
    }
  }

  async readRandom(ds: Dataset, order: Int32Array, count: number): Promise<ReadResult> {
    const db = this.db;
    let bad = 0;
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const k = order[i]!;
      const v = await call<Buffer>((cb) => db.get(ds.keys[k]!, cb)).catch(() => undefined);
      bad += checkValue(ds, k, i, v);
      bytes += v?.length ?? 0;
    }
    return { ops: count, bad, bytes };
  }

  readSeq(): Promise<ReadResult> {
    const it = this.db.iterator();
    let ops = 0;
    let bytes = 0;
    return new Promise((res, rej) => {
      const step = (): void => {
        it.next((err, k, v) => {
          if (err) return it.end(() => rej(err));
          if (k === undefined || v === undefined) return it.end((e) => (e ? rej(e) : res({ ops, bad: 0, bytes })));
          ops++;
          bytes += k.length + v.length;
          step();
        });
      };
      step();
    });
  }

  stats(): Record<string, unknown> | undefined {
    try {
      return { rocksdbStats: this.#db?.getProperty('rocksdb.stats') };
    } catch {
      return undefined;
    }
  }
}

function makeEngine(name: EngineName): Engine {
  switch (name) {
    case 'lsm-state':
      return new LsmStateEngine(name, {});
    case 'lsm-state-snappy':
      return new LsmStateEngine(name, { compression: 'snappy' });
    case 'classic-level':
      return new ClassicLevelEngine();
    case 'rocksdb':
      return new RocksDbEngine();
  }
}

// ---------------------------------------------------------------------------------------------
// Measurement

/** Sum of the sizes of the files under dir. */
export function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) {
      try {
        total += statSync(p).size;
      } catch {
        // deleted meanwhile by a background thread
      }
    }
  }
  return total;
}

/** write() syscall bytes of this process so far (Linux), or undefined. */
export function writtenBytes(): number | undefined {
  try {
    const m = /^wchar:\s*(\d+)/m.exec(readFileSync('/proc/self/io', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface Measurement {
  workload: Workload;
  engine: EngineName;
  run: number;
  /** Operations timed. */
  ops: number;
  seconds: number;
  opsPerSec: number;
  /** How the engine performed the operations. */
  api: string;
  /** Raw bytes of the fill: ops × (16 + 100). */
  rawBytes?: number;
  sizeAfterFill?: number;
  sizeAfterClose?: number;
  /** write() syscall bytes from fill start to close end (whole process). */
  syscallBytesWritten?: number;
  /** lsm-state: WAL + flush + compaction bytes from db.stats() at the end of the fill. */
  engineBytesWritten?: { wal: number; flush: number; compaction: number; total: number };
  reopenMs?: number;
  /** Size of the read database right after the reopen (lsm-state: WAL replayed into tables). */
  sizeAfterReopen?: number;
  bad?: number;
  stats?: Record<string, unknown>;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

interface FillSpec {
  workload: Workload;
  measured: boolean;
  order: Order;
  count: number;
  mode: 'single' | 'batch';
  shift: number;
}

function describeFill(engine: Engine, spec: FillSpec, batchSize: number): string {
  if (spec.mode === 'batch') return engine.name.startsWith('lsm-state') ? `db.write(WriteBatch of ${batchSize})` : `db.batch(array of ${batchSize}) awaited`;
  return engine.syncPuts ? 'db.put (synchronous)' : 'db.put awaited one at a time';
}

/** Runs one fill on an open engine, then closes it; returns the measurement. */
async function fill(engine: Engine, ds: Dataset, dir: string, spec: FillSpec, cfg: BenchConfig, run: number): Promise<Measurement> {
  const w0 = writtenBytes();
  const seconds = await timed(() => (spec.mode === 'batch'
    ? engine.putBatches(ds, spec.order, spec.count, cfg.batchSize, spec.shift)
    : engine.putEach(ds, spec.order, spec.count, spec.shift)));
  const sizeAfterFill = dirBytes(dir);
  const stats = engine.stats();
  let engineBytesWritten: Measurement['engineBytesWritten'];
  if (engine.name.startsWith('lsm-state') && stats !== undefined) {
    const s = stats as { wal: { bytesWritten: number }; flush: { bytesWritten: number }; compaction?: { bytesWritten: number } };
    const compaction = s.compaction?.bytesWritten ?? 0;
    engineBytesWritten = { wal: s.wal.bytesWritten, flush: s.flush.bytesWritten, compaction, total: s.wal.bytesWritten + s.flush.bytesWritten + compaction };
  }
  await engine.close();
  const w1 = writtenBytes();
  const m: Measurement = {
    workload: spec.workload,
    engine: engine.name,
    run,
    ops: spec.count,
    seconds,
    opsPerSec: spec.count / seconds,
    api: describeFill(engine, spec, cfg.batchSize),
    rawBytes: spec.count * (KEY_SIZE + VALUE_SIZE),
    sizeAfterFill,
    sizeAfterClose: dirBytes(dir),
    engineBytesWritten,
    stats,
  };
  if (w0 !== undefined && w1 !== undefined) m.syscallBytesWritten = w1 - w0;
  return m;
}

/** One run of the selected workloads on one engine; every database in a fresh temp directory. */
async function runEngine(engine: Engine, ds: Dataset, cfg: BenchConfig, run: number, root: string): Promise<Measurement[]> {
  const want = new Set(cfg.workloads);
  const out: Measurement[] = [];
  const fresh = (label: string): string => mkdtempSync(join(root, `${engine.name}-${label}-`));
  const say = (m: Measurement): void => {
    log(`  run ${run + 1} ${engine.name} ${m.workload}: ${Math.round(m.opsPerSec).toLocaleString('en-US')} ops/s (${m.ops.toLocaleString('en-US')} ops, ${m.seconds.toFixed(2)} s)${m.bad ? `, ${m.bad} BAD READS` : ''}`);
  };

  // fillseq, then overwrite on the same database after a reopen.
  if (want.has('fillseq') || want.has('overwrite')) {
    const dir = fresh('seq');
    await engine.open(dir);
    const m = await fill(engine, ds, dir, { workload: 'fillseq', measured: want.has('fillseq'), order: null, count: ds.n, mode: engine.fillMode, shift: 0 }, cfg, run);
    if (want.has('fillseq')) {
      out.push(m);
      say(m);
    }
    if (want.has('overwrite')) {
      await engine.open(dir);
      const o = await fill(engine, ds, dir, { workload: 'overwrite', measured: true, order: ds.overwriteKeys, count: ds.n, mode: engine.fillMode, shift: 1 }, cfg, run);
      o.rawBytes = undefined; // overwrite adds no new data
      out.push(o);
      say(o);
    }
    rmSync(dir, { recursive: true, force: true });
  }

  let readDir: string | undefined;
  if (want.has('fillrandom')) {
    const dir = fresh('rand');
    const count = engine.syncPuts ? ds.n : Math.min(ds.n, cfg.singleNum);
    await engine.open(dir);
    const m = await fill(engine, ds, dir, { workload: 'fillrandom', measured: true, order: ds.perm, count, mode: 'single', shift: 0 }, cfg, run);
    out.push(m);
    say(m);
    // Its database serves the reads when it holds every key and fillrandom-batch is not run.
    if (count === ds.n && !want.has('fillrandom-batch')) readDir = dir;
    else rmSync(dir, { recursive: true, force: true });
  }

  const reads = want.has('readrandom') || want.has('readseq');
  if (want.has('fillrandom-batch') || (reads && readDir === undefined)) {
    const dir = fresh('batch');
    await engine.open(dir);
    const m = await fill(engine, ds, dir, { workload: 'fillrandom-batch', measured: want.has('fillrandom-batch'), order: ds.perm, count: ds.n, mode: 'batch', shift: 0 }, cfg, run);
    if (want.has('fillrandom-batch')) {
      out.push(m);
      say(m);
    }
    readDir = dir;
  }

  if (reads && readDir !== undefined) {
    const reopenMs = (await timed(() => engine.open(readDir))) * 1000;
    const sizeAfterReopen = dirBytes(readDir);
    if (want.has('readrandom')) {
      let r: ReadResult = { ops: 0, bad: 0, bytes: 0 };
      const seconds = await timed(async () => {
        r = await engine.readRandom(ds, ds.readKeys, ds.readKeys.length);
      });
      const m: Measurement = { workload: 'readrandom', engine: engine.name, run, ops: r.ops, seconds, opsPerSec: r.ops / seconds, api: engine.readApi, reopenMs, sizeAfterReopen, bad: r.bad, stats: engine.stats() };
      out.push(m);
      say(m);
    }
    if (want.has('readseq')) {
      let r: ReadResult = { ops: 0, bad: 0, bytes: 0 };
      const seconds = await timed(async () => {
        r = await engine.readSeq();
      });
      const bad = r.ops === ds.n ? 0 : Math.abs(ds.n - r.ops);
      const m: Measurement = { workload: 'readseq', engine: engine.name, run, ops: r.ops, seconds, opsPerSec: r.ops / seconds, api: engine.name.startsWith('lsm-state') ? 'for-of db.iterator()' : engine.name === 'classic-level' ? 'iterator.nextv(1000)' : 'iterator.next callbacks', reopenMs, sizeAfterReopen, bad };
      out.push(m);
      say(m);
    }
    await engine.close();
  }
  if (readDir !== undefined) rmSync(readDir, { recursive: true, force: true });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Summary {
  workload: Workload;
  engine: EngineName;
  opsPerSec: number;
  runs: number[];
  ops: number;
  api: string;
  rawBytes?: number;
  sizeAfterFill?: number;
  sizeAfterClose?: number;
  syscallBytesWritten?: number;
  engineBytesWritten?: number;
  reopenMs?: number;
  sizeAfterReopen?: number;
  /** lsm-state: write stalls at the end of a fill (median count and milliseconds). */
  stalls?: { count: number; ms: number };
  bad: number;
}

function stallsOf(g: Measurement[]): Summary['stalls'] {
  type S = { stalls?: { count: number; micros: number }; compaction?: { slowdownWrites?: number; slowdownMicros?: number; stops?: number; stopMicros?: number } };
  const xs = g.map((m) => m.stats as S | undefined).filter((x) => x?.stalls !== undefined) as S[];
  if (xs.length === 0 || !FILLS.includes(g[0]!.workload)) return undefined;
  const c = (x: S): number => x.stalls!.count + (x.compaction?.slowdownWrites ?? 0) + (x.compaction?.stops ?? 0);
  const us = (x: S): number => x.stalls!.micros + (x.compaction?.slowdownMicros ?? 0) + (x.compaction?.stopMicros ?? 0);
  return { count: median(xs.map(c)), ms: median(xs.map((x) => us(x) / 1000)) };
}

function summarise(ms: Measurement[]): Summary[] {
  const groups = new Map<string, Measurement[]>();
  for (const m of ms) {
    const key = `${m.workload}\0${m.engine}`;
    const g = groups.get(key) ?? [];
    g.push(m);
    groups.set(key, g);
  }
  const out: Summary[] = [];
  for (const g of groups.values()) {
    const first = g[0]!;
    const med = (f: (m: Measurement) => number | undefined): number | undefined => {
      const xs = g.map(f).filter((x): x is number => x !== undefined);
      return xs.length === 0 ? undefined : median(xs);
    };
    out.push({
      workload: first.workload,
      engine: first.engine,
      opsPerSec: median(g.map((m) => m.opsPerSec)),
      runs: g.map((m) => m.opsPerSec),
      ops: first.ops,
      api: first.api,
      rawBytes: first.rawBytes,
      sizeAfterFill: med((m) => m.sizeAfterFill),
      sizeAfterClose: med((m) => m.sizeAfterClose),
      syscallBytesWritten: med((m) => m.syscallBytesWritten),
      engineBytesWritten: med((m) => m.engineBytesWritten?.total),
      reopenMs: med((m) => m.reopenMs),
      sizeAfterReopen: med((m) => m.sizeAfterReopen),
      stalls: stallsOf(g),
      bad: g.reduce((n, m) => n + (m.bad ?? 0), 0),
    });
  }
  return out;
}

const fmtInt = (x: number): string => Math.round(x).toLocaleString('en-US');
const mb = (x: number | undefined): string => (x === undefined ? '–' : (x / 1e6).toFixed(1));
const times = (x: number | undefined, raw: number | undefined): string => (x === undefined || raw === undefined || raw === 0 ? '' : ` (${(x / raw).toFixed(2)}×)`);

export interface Target {
  name: string;
  ratio: number | undefined;
  goal: number;
  met: boolean | undefined;
  detail: string;
}

function targets(sums: Summary[]): Target[] {
  const get = (w: Workload, e: EngineName): Summary | undefined => sums.find((s) => s.workload === w && s.engine === e);
  const t = (name: string, goal: number, a: Summary | undefined, b: Summary | undefined): Target => {
    const ratio = a && b ? a.opsPerSec / b.opsPerSec : undefined;
    return {
      name,
      ratio,
      goal,
      met: ratio === undefined ? undefined : ratio >= goal,
      detail: a && b ? `${fmtInt(a.opsPerSec)} / ${fmtInt(b.opsPerSec)} ops/s` : 'needs lsm-state, classic-level and both workloads',
    };
  };
  return [
    t("fillrandom single puts ≥ 3× classic-level's batched fillrandom", 3, get('fillrandom', 'lsm-state'), get('fillrandom-batch', 'classic-level')),
    t("readrandom ≥ 2× classic-level's getSync", 2, get('readrandom', 'lsm-state'), get('readrandom', 'classic-level')),
  ];
}

function render(cfg: BenchConfig, engines: Engine[], skipped: string[], sums: Summary[], tgts: Target[], env: Record<string, string>): string {
  const lines: string[] = [];
  const names = engines.map((e) => e.name);
  const peers = names.filter((n) => n === 'classic-level' || n === 'rocksdb');
  const lsm = names.includes('lsm-state') ? 'lsm-state' : names.find((n) => n.startsWith('lsm-state'));
  const get = (w: Workload, e: EngineName): Summary | undefined => sums.find((s) => s.workload === w && s.engine === e);
  lines.push(`## db-bench: num ${fmtInt(cfg.num)}, median of ${cfg.runs} run${cfg.runs === 1 ? '' : 's'}`);
  lines.push('');
  lines.push(`- ${env.date}; node ${env.node}; ${env.cpu} × ${env.nproc}; ${env.platform}; load average (1/5/15 min) ${env.loadavgAtStart} at start, ${env.loadavgAtEnd} at end`);
  lines.push(`- keys ${KEY_SIZE} B ("%016d"), values ${VALUE_SIZE} B (compression ratio 0.5), raw ${mb(cfg.num * (KEY_SIZE + VALUE_SIZE))} MB per fill; readrandom ${fmtInt(cfg.reads)} gets; seed ${cfg.seed}; batch ${cfg.batchSize}`);
  for (const s of skipped) lines.push(`- skipped: ${s}`);
  lines.push('');
  lines.push('### Throughput (ops/s, median)');
  lines.push('');
  const ratioCols = lsm === undefined ? [] : peers.map((p) => `${lsm}/${p}`);
  lines.push(`| workload | ${names.join(' | ')}${ratioCols.length ? ` | ${ratioCols.join(' | ')}` : ''} |`);
  lines.push(`|---|${names.map(() => '---:').join('|')}${ratioCols.map(() => '|---:').join('')}|`);
  const notes = new Set<string>();
  for (const w of cfg.workloads) {
    const cells = names.map((e) => {
      const s = get(w, e);
      if (s === undefined) return '–';
      let mark = '';
      if (!e.startsWith('lsm-state') && (w === 'fillseq' || w === 'overwrite')) {
        mark = ' †';
        notes.add(`† ${peers.join(' and ')}: db.batch of ${cfg.batchSize} entries per awaited call (an awaited put per key is too slow at this num); lsm-state: one synchronous db.put per key.`);
      }
      if (!e.startsWith('lsm-state') && w === 'fillrandom') {
        mark = ' ‡';
        notes.add(`‡ ${peers.join(' and ')}: awaited db.put one at a time on ${fmtInt(s.ops)} keys (--single-num), not ${fmtInt(cfg.num)}; lsm-state: synchronous db.put on all ${fmtInt(cfg.num)}.`);
      }
      if (w === 'readrandom' && e === 'rocksdb') {
        mark = ' §';
        notes.add('§ rocksdb has no synchronous get: db.get awaited one at a time. classic-level: db.getSync. lsm-state: db.get (synchronous).');
      }
      return `${fmtInt(s.opsPerSec)}${mark}${s.bad ? ` (${s.bad} bad!)` : ''}`;
    });
    const ratios = lsm === undefined ? [] : peers.map((p) => {
      const a = get(w, lsm);
      const b = get(w, p);
      return a && b ? `${(a.opsPerSec / b.opsPerSec).toFixed(2)}` : '–';
    });
    lines.push(`| ${w} | ${cells.join(' | ')}${ratios.length ? ` | ${ratios.join(' | ')}` : ''} |`);
  }
  lines.push('');
  for (const n of notes) lines.push(`${n}  `);
  if (notes.size > 0) lines.push('');
  const fills = cfg.workloads.filter((w) => FILLS.includes(w));
  if (fills.length > 0) {
    lines.push('### Space and bytes written (MB = 10^6 bytes, median; × = multiple of the raw key+value bytes)');
    lines.push('');
    lines.push('| workload | engine | keys | raw | on disk after fill | on disk after close | write() bytes, fill → close | engine-reported bytes written |');
    lines.push('|---|---|---:|---:|---:|---:|---:|---:|');
    for (const w of fills) {
      for (const e of names) {
        const s = get(w, e);
        if (s === undefined) continue;
        const raw = s.rawBytes;
        const rawFor = raw ?? s.ops * (KEY_SIZE + VALUE_SIZE);
        const engineCol = e.startsWith('lsm-state')
          ? `${mb(s.engineBytesWritten)}${times(s.engineBytesWritten, rawFor)} (WAL + flush + compaction, db.stats() at end of fill)`
          : `≥ ${mb(s.sizeAfterClose)} (dir size after close: lower bound)`;
        lines.push(`| ${w} | ${e} | ${fmtInt(s.ops)} | ${raw === undefined ? '(overwrite)' : mb(raw)} | ${mb(s.sizeAfterFill)}${times(s.sizeAfterFill, rawFor)} | ${mb(s.sizeAfterClose)}${times(s.sizeAfterClose, rawFor)} | ${mb(s.syscallBytesWritten)}${times(s.syscallBytesWritten, rawFor)} | ${engineCol} |`);
      }
    }
    lines.push('');
    lines.push('On disk: sum of the file sizes in the database directory right after the last write of the fill (background flushes/compactions may still run), and after close. Engine-reported bytes are taken when the last write of the fill returns: a flush or compaction still running then is not in them (it is in the write() bytes). lsm-state keeps unflushed memtable contents in its WAL across a close, so its after-close size includes WAL bytes. write() bytes: /proc/self/io wchar delta of the whole process (main thread, flush worker, LevelDB/RocksDB background threads) from the first write of the fill to the end of close: WAL + tables + compactions + MANIFEST. For overwrite the × column is relative to the raw bytes of its num puts.');
    lines.push('');
  }
  const stalls = sums.filter((s) => s.stalls !== undefined);
  if (stalls.length > 0) {
    lines.push(`lsm-state write stalls (memtable stalls + compaction slowdowns and stops, from db.stats()), median per fill: ${stalls.map((s) => `${s.engine} ${s.workload} ${s.stalls!.count} (${s.stalls!.ms.toFixed(0)} ms)`).join(', ')}.`);
    lines.push('');
  }
  const reopen = names.map((e) => get('readrandom', e) ?? get('readseq', e)).filter((s) => s?.reopenMs !== undefined);
  if (reopen.length > 0) {
    const raw = cfg.num * (KEY_SIZE + VALUE_SIZE);
    lines.push(`Reopen of the read database (the fillrandom-batch one, or lsm-state's fillrandom one when fillrandom-batch is not run), median: ${reopen.map((s) => `${s!.engine} ${s!.reopenMs!.toFixed(0)} ms, ${mb(s!.sizeAfterReopen)} MB on disk after it${times(s!.sizeAfterReopen, raw)}`).join('; ')}. lsm-state replays its WAL into level-0 tables during open, so its size here is the compressed table size.`);
    lines.push('');
  }
  lines.push('### Targets (issue #2)');
  lines.push('');
  for (const t of tgts) {
    lines.push(`- ${t.name}: ${t.ratio === undefined ? 'not measured' : `${t.ratio.toFixed(2)}×`} (${t.detail}) → ${t.met === undefined ? 'n/a' : t.met ? 'MET' : 'NOT MET'}`);
  }
  lines.push('');
  lines.push('### Engines and options');
  lines.push('');
  for (const e of engines) lines.push(`- ${e.name} ${e.version}: ${e.options}`);
  const bad = sums.filter((s) => s.bad > 0);
  if (bad.length > 0) {
    lines.push('');
    lines.push(`**Wrong results:** ${bad.map((s) => `${s.engine} ${s.workload}: ${s.bad}`).join('; ')} (missing keys, wrong values or wrong scan counts).`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

export interface BenchResult {
  config: BenchConfig;
  env: Record<string, string>;
  engines: { name: string; version: string; options: string }[];
  skipped: string[];
  measurements: Measurement[];
  summary: Summary[];
  targets: Target[];
  markdown: string;
  jsonFile: string | undefined;
}

/** Runs the benchmark with flags `argv`; prints the markdown report to stdout. */
export async function main(argv: string[] = process.argv.slice(2), defaults: Partial<BenchConfig> = {}): Promise<BenchResult | undefined> {
  const cfg = parseConfig(argv, defaults);
  if (cfg === 'help') {
    console.log(USAGE);
    if (Object.keys(defaults).length > 0) console.log(`\nDefaults overridden by the caller: ${Object.entries(defaults).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`);
    return undefined;
  }
  const engines: Engine[] = [];
  const skipped: string[] = [];
  for (const name of cfg.engines) {
    try {
      engines.push(makeEngine(name));
    } catch (err) {
      const msg = `${name} (failed to load: ${(err as Error).message.split('\n')[0]})`;
      skipped.push(msg);
      log(`note: skipping ${msg}`);
    }
  }
  if (engines.length === 0) throw new Error('no engine could be loaded');
  const env = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown cpu',
    nproc: String(cpus().length),
    platform: `${process.platform}/${process.arch}`,
    loadavgAtStart: loadavg().map((x) => x.toFixed(2)).join(' '),
    loadavgAtEnd: '',
  };
  log(`db-bench: num ${cfg.num}, runs ${cfg.runs}, engines ${engines.map((e) => e.name).join(',')}, workloads ${cfg.workloads.join(',')}`);
  const t0 = performance.now();
  const ds = new Dataset(cfg.num, cfg.reads, cfg.seed);
  log(`data generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  mkdirSync(cfg.dir, { recursive: true });
  const measurements: Measurement[] = [];
  for (let run = 0; run < cfg.runs; run++) {
    // Rotate the engine order so no engine always runs first (cold caches) or last.
    const order = engines.map((_, i) => engines[(i + run) % engines.length]!);
    for (const engine of order) {
      const root = mkdtempSync(join(cfg.dir, 'lsm-db-bench-'));
      try {
        measurements.push(...await runEngine(engine, ds, cfg, run, root));
      } finally {
        await engine.close().catch(() => undefined);
        rmSync(root, { recursive: true, force: true });
      }
    }
  }
  env.loadavgAtEnd = loadavg().map((x) => x.toFixed(2)).join(' ');
  const summary = summarise(measurements);
  const tgts = targets(summary);
  const markdown = render(cfg, engines, skipped, summary, tgts, env);
  console.log(`${markdown}\n`);
  let jsonFile: string | undefined;
  const result: BenchResult = {
    config: cfg,
    env,
    engines: engines.map((e) => ({ name: e.name, version: e.version, options: e.options })),
    skipped,
    measurements,
    summary,
    targets: tgts,
    markdown,
    jsonFile: undefined,
  };
  if (cfg.json) {
    jsonFile = cfg.out ?? join('bench-results', `db-bench-${env.date.replace(/[:.]/g, '-')}.json`);
    mkdirSync(resolve(jsonFile, '..'), { recursive: true });
    result.jsonFile = jsonFile;
    writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
    log(`results: ${jsonFile}`);
  }
  log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return result;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  });
}
