/**
 * Issue #3's compaction benchmark: sustained fillrandom then overwrite (db_bench keys and
 * values, N = 5,000,000 by default, about 580 MB raw), for lsm-state leveled and universal and
 * for classic-level (LevelDB) and rocksdb, side by side in one run, all with snappy. Every engine
 * writes WriteBatches of --batch entries (the peers have no synchronous single put; awaiting one
 * put at a time would measure their async hop, not their engine), and the latency of each batch
 * write is recorded, so write stalls show in p99/p99.9. Then readrandom, then a full compaction.
 *
 * Reported per engine: ops/s per phase, batch latency p50/p99/p99.9, write amplification
 * (write() syscall bytes of the whole process / raw bytes written, plus lsm-state's own
 * accounting), space amplification (size on disk before / after a full compaction), size after
 * full compaction, readrandom ops/s.
 *
 * Usage: npm run bench -- compaction --mode fill [flags] (or compaction-fill [flags], or
 * node dist/bench/compaction-bench.js [flags]); flags in FILL_USAGE. The default `compaction`
 * run is the throughput comparison with db_bench (bench/compaction-throughput.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Database, WriteBatch, type DatabaseOptions } from '../src/index.js';
import { Dataset, dirBytes, writtenBytes } from './db-bench.js';

const require = createRequire(import.meta.url);

interface Adapter {
  readonly name: string;
  readonly options: string;
  open(dir: string): Promise<void>;
  /** Writes keys[k] → value for every k of `ks`, atomically. */
  writeBatch(ds: Dataset, ks: Int32Array, from: number, to: number, shift: number): Promise<void> | void;
  get(key: Buffer): Promise<unknown> | unknown;
  compactAll(): Promise<void>;
  close(): Promise<void>;
  /** lsm-state's own counters. */
  notes(): string;
}

class LsmAdapter implements Adapter {
  #db: Database | undefined;
  readonly #batch = new WriteBatch();
  constructor(readonly name: string, readonly dbOptions: DatabaseOptions) {}
  get options(): string {
    return JSON.stringify(this.dbOptions);
  }
  async open(dir: string): Promise<void> {
    this.#db = await Database.open(dir, this.dbOptions);
  }
  writeBatch(ds: Dataset, ks: Int32Array, from: number, to: number, shift: number): void {
    const b = this.#batch;
    b.clear();
    for (let i = from; i < to; i++) b.put(ds.keys[ks[i]!]!, ds.valueFor(ks[i]!, shift));
    this.#db!.write(b);
  }
  get(key: Buffer): unknown {
    return this.#db!.get(key);
  }
  async compactAll(): Promise<void> {
    await this.#db!.compactRange();
  }
  async close(): Promise<void> {
    await this.#db?.close();
  }
  notes(): string {
    const s = this.#db!.stats();
    const c = s.compaction;
    return `engine write amp ${s.writeAmplification.toFixed(2)} (flush ${mb(s.flush.bytesWritten)} + compaction ${mb(c.bytesWritten)} over ${mb(s.ingestBytes)} ingested), ` +
      `${c.count} compactions + ${c.trivialMoves} trivial moves, slowdowns ${c.slowdownWrites} (${(c.slowdownMicros / 1000).toFixed(0)} ms), stops ${c.stops} (${(c.stopMicros / 1000).toFixed(0)} ms), ` +
      `memtable stalls ${s.stalls.count} (${(s.stalls.micros / 1000).toFixed(0)} ms), levels ${s.levels.filter((l) => l.files > 0).map((l) => `L${l.level}:${l.files}`).join(' ')}`;
  }
}

interface LevelLike {
  open(): Promise<void>;
  batch(ops: { type: 'put'; key: Buffer; value: Buffer }[]): Promise<void>;
  get(key: Buffer): Promise<unknown>;
  compactRange(start: Buffer, end: Buffer): Promise<void>;
  close(): Promise<void>;
}

class ClassicAdapter implements Adapter {
  readonly name = 'classic-level';
  readonly options = 'defaults (LevelDB 1.20: snappy, 4 MiB write buffer, 2 MiB files, 8 MiB cache)';
  #db: LevelLike | undefined;
  async open(dir: string): Promise<void> {
    const { ClassicLevel } = require('classic-level') as { ClassicLevel: new (d: string, o: object) => LevelLike };
    this.#db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await this.#db.open();
  }
  writeBatch(ds: Dataset, ks: Int32Array, from: number, to: number, shift: number): Promise<void> {
    const ops: { type: 'put'; key: Buffer; value: Buffer }[] = [];
    for (let i = from; i < to; i++) ops.push({ type: 'put' as const, key: ds.keys[ks[i]!]!, value: ds.valueFor(ks[i]!, shift) });
    return this.#db!.batch(ops);
  }
  get(key: Buffer): Promise<unknown> {
    return this.#db!.get(key);
  }
  compactAll(): Promise<void> {
    return this.#db!.compactRange(Buffer.alloc(0), Buffer.alloc(17, 0xff));
  }
  async close(): Promise<void> {
    await this.#db?.close();
  }
  notes(): string {
    return '';
  }
}

type Cb<T = void> = (err: Error | null | undefined, value?: T) => void;
interface RocksLike {
  open(o: object, cb: Cb): void;
  batch(ops: { type: 'put'; key: Buffer; value: Buffer }[], cb: Cb): void;
  get(key: Buffer, cb: Cb<unknown>): void;
  compactRange(start: Buffer, end: Buffer, cb: Cb): void;
  close(cb: Cb): void;
}
const call = <T = void>(fn: (cb: Cb<T>) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));

class RocksAdapter implements Adapter {
  readonly name = 'rocksdb';
  readonly options = 'defaults of the rocksdb package (leveled, snappy)';
  #db: RocksLike | undefined;
  async open(dir: string): Promise<void> {
    this.#db = (require('rocksdb') as (d: string) => RocksLike)(dir);
    await call((cb) => this.#db!.open({}, cb));
  }
  writeBatch(ds: Dataset, ks: Int32Array, from: number, to: number, shift: number): Promise<void> {
    const ops: { type: 'put'; key: Buffer; value: Buffer }[] = [];
    for (let i = from; i < to; i++) ops.push({ type: 'put' as const, key: ds.keys[ks[i]!]!, value: ds.valueFor(ks[i]!, shift) });
    return call((cb) => this.#db!.batch(ops, cb));
  }
  get(key: Buffer): Promise<unknown> {
    return call((cb) => this.#db!.get(key, cb));
  }
  compactAll(): Promise<void> {
    return call((cb) => this.#db!.compactRange(Buffer.alloc(0), Buffer.alloc(17, 0xff), cb));
  }
  async close(): Promise<void> {
    if (this.#db) await call((cb) => this.#db!.close(cb));
  }
  notes(): string {
    return '';
  }
}

const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

interface PhaseResult {
  opsPerSec: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

async function writePhase(a: Adapter, ds: Dataset, ks: Int32Array, batch: number, shift: number): Promise<PhaseResult> {
  const n = ks.length;
  const lat = new Float64Array(Math.ceil(n / batch));
  const start = performance.now();
  for (let i = 0, j = 0; i < n; i += batch, j++) {
    const t = performance.now();
    const r = a.writeBatch(ds, ks, i, Math.min(n, i + batch), shift);
    if (r instanceof Promise) await r;
    else if ((j & 63) === 0) await new Promise((res) => setImmediate(res)); // let background results in
    lat[j] = performance.now() - t;
  }
  const total = performance.now() - start;
  lat.sort();
  return { opsPerSec: (n / total) * 1000, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), p999: percentile(lat, 0.999), max: lat[lat.length - 1]! };
}

async function readPhase(a: Adapter, ds: Dataset, count: number): Promise<number> {
  const start = performance.now();
  let missing = 0;
  for (let i = 0; i < count; i++) {
    let v = a.get(ds.keys[ds.readKeys[i]!]!);
    if (v instanceof Promise) v = await v.catch(() => undefined);
    if (v === undefined || v === null) missing++;
  }
  if (missing > 0) throw new Error(`${a.name}: ${missing} keys missing in readrandom`);
  return (count / (performance.now() - start)) * 1000;
}

interface EngineResult {
  name: string;
  options: string;
  fill: PhaseResult;
  overwrite: PhaseResult;
  readrandom: number;
  writeBytes: number;
  sizeBeforeFull: number;
  sizeAfterFull: number;
  notes: string;
}

async function runEngine(a: Adapter, ds: Dataset, batch: number, reads: number): Promise<EngineResult> {
  const dir = mkdtempSync(join(tmpdir(), `cbench-${a.name}-`));
  try {
    await a.open(dir);
    const w0 = writtenBytes() ?? 0;
    console.error(`${a.name}: fillrandom`);
    const fill = await writePhase(a, ds, ds.perm, batch, 0);
    console.error(`${a.name}: overwrite`);
    const overwrite = await writePhase(a, ds, ds.overwriteKeys, batch, 1);
    console.error(`${a.name}: readrandom`);
    const readrandom = await readPhase(a, ds, reads);
    const notes = a.notes();
    const sizeBeforeFull = dirBytes(dir);
    const writeBytes = (writtenBytes() ?? 0) - w0;
    console.error(`${a.name}: full compaction`);
    await a.compactAll();
    await a.close();
    const sizeAfterFull = dirBytes(dir);
    return { name: a.name, options: a.options, fill, overwrite, readrandom, writeBytes, sizeBeforeFull, sizeAfterFull, notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const FILL_USAGE = `compaction --mode fill (= compaction-fill): issue #3's sustained fillrandom + overwrite

Flags:
  --num N          keys per phase (default 5000000)
  --batch B        entries per WriteBatch (default 100)
  --reads R        readrandom gets (default 200000)
  --engines LIST   comma list of lsm-state-leveled, lsm-state-universal, classic-level, rocksdb (default all)
  -h, --help       this text`;

export async function main(argv: string[] = process.argv.slice(2)): Promise<EngineResult[]> {
  const { values } = parseArgs({
    args: argv,
    options: {
      num: { type: 'string', default: '5000000' },
      batch: { type: 'string', default: '100' },
      reads: { type: 'string', default: '200000' },
      engines: { type: 'string', default: 'lsm-state-leveled,lsm-state-universal,classic-level,rocksdb' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(FILL_USAGE);
    return [];
  }
  const num = Number(values.num);
  const batch = Number(values.batch);
  const reads = Number(values.reads);
  const all: Record<string, () => Adapter> = {
    'lsm-state-leveled': () => new LsmAdapter('lsm-state-leveled', { compression: 'snappy', compactionStyle: 'leveled' }),
    'lsm-state-universal': () => new LsmAdapter('lsm-state-universal', { compression: 'snappy', compactionStyle: 'universal' }),
    'classic-level': () => new ClassicAdapter(),
    rocksdb: () => new RocksAdapter(),
  };
  const ds = new Dataset(num, reads, 4242);
  const results: EngineResult[] = [];
  for (const name of values.engines.split(',')) {
    const make = all[name];
    if (make === undefined) throw new Error(`unknown engine ${name}`);
    results.push(await runEngine(make(), ds, batch, reads));
  }
  const raw = num * 116 * 2; // fill + overwrite
  const lines = [
    `## compaction bench: fillrandom + overwrite, num ${num.toLocaleString('en')} each (${mb(num * 116)} raw per phase), WriteBatch of ${batch}`,
    '',
    `- ${new Date().toISOString()}; node ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? '?'}; readrandom ${reads.toLocaleString('en')} gets`,
    '',
    '| engine | fillrandom ops/s | overwrite ops/s | batch latency p50 / p99 / p99.9 / max (ms), overwrite | write amp (write() bytes / raw) | on disk before full compaction | after full compaction | space amp | readrandom ops/s |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|',
    ...results.map((r) =>
      `| ${r.name} | ${Math.round(r.fill.opsPerSec).toLocaleString('en')} | ${Math.round(r.overwrite.opsPerSec).toLocaleString('en')} | ` +
      `${r.overwrite.p50.toFixed(2)} / ${r.overwrite.p99.toFixed(2)} / ${r.overwrite.p999.toFixed(2)} / ${r.overwrite.max.toFixed(0)} | ` +
      `${(r.writeBytes / raw).toFixed(2)} | ${mb(r.sizeBeforeFull)} | ${mb(r.sizeAfterFull)} | ${(r.sizeBeforeFull / r.sizeAfterFull).toFixed(2)} | ${Math.round(r.readrandom).toLocaleString('en')} |`),
    '',
    ...results.map((r) => `- ${r.name}: ${r.options}${r.notes ? `; ${r.notes}` : ''}`),
    '',
    'Fill latency p50 / p99 / p99.9 (ms): ' + results.map((r) => `${r.name} ${r.fill.p50.toFixed(2)} / ${r.fill.p99.toFixed(2)} / ${r.fill.p999.toFixed(2)}`).join('; '),
  ];
  console.log(lines.join('\n'));
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
