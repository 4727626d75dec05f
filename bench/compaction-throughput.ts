/**
 * Compaction throughput against native RocksDB (`npm run bench -- compaction`): both engines fill
 * a database with db_bench's fillrandom (N keys drawn uniformly from [0, N), so some are
 * overwritten; 16-byte keys, 100-byte values with compression ratio 0.5; write batches of
 * --batch; 4 MiB write buffer, 64 MiB target files, no WAL, auto compactions off so the data
 * stays as many level-0 files), then one full manual compaction is timed.
 *
 * - lsm-state runs in this process: `db.compactRange()` after `db.flush()`, input bytes, entries and
 *   job wall time from `db.stats().compaction` (deltas over the compaction).
 * - RocksDB is the `db_bench` tool (Debian's rocksdb-tools 7.8.3 is a debug build with assertions,
 *   so its figures are a lower bound), spawned with `--benchmarks=fillrandom,compact,stats`; the
 *   `compact :` line gives the wall time and the "Compaction Stats" rows below L0 give the job
 *   time (Comp(sec)), input throughput (Rd(MB/s), MiB/s) and input entries (KeyIn).
 *   Without db_bench on PATH (or at --db-bench) its rows are skipped with a note.
 *
 * lsm-state's full compaction on leveled merges L0 into the base level and then rewrites the last
 * level in place (two passes); db_bench's `compact` makes one. So the comparable figure is input
 * MB/s per compaction thread (bytes read / summed job wall time), not the wall time of the call.
 *
 * Engines alternate run by run (A B A B …, --rounds rounds), each run in a fresh directory under
 * the OS temp dir removed afterwards, the load average printed before each run; medians per
 * engine and the lsm-state / RocksDB ratios are reported. Method: docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Database, WriteBatch, type DatabaseOptions } from '../src/index.js';
import { Dataset, KEY_SIZE, median, UsageError, VALUE_SIZE } from './db-bench.js';

export const CODECS = ['none', 'snappy', 'lz4', 'zstd'] as const;
export type Codec = (typeof CODECS)[number];
type EngineName = 'lsm-state' | 'rocksdb';

export const USAGE = `compaction: full-compaction throughput, lsm-state vs RocksDB's db_bench

  npm run bench -- compaction [flags]                        this benchmark (the default mode)
  npm run bench -- compaction --mode fill [flags]            issue #3's sustained fillrandom + overwrite
                                                             (= compaction-fill; --help there for its flags)
  npm run bench -- compaction --checkpoint-workload [flags]  the checkpoint benchmark (bench/checkpoint-bench.ts)

Flags:
  --num N          keys written by fillrandom, drawn uniformly from [0, N) (default 1000000)
  --rounds N       runs per engine, alternating engines (default 3); medians are reported
  --codec C        ${CODECS.join(', ')} (default snappy); db_bench --compression_type
  --batch N        entries per write batch in the fill, both engines (default 1000)
  --bloom-bits N   bloom filter bits per key, both engines (default 10, lsm-state's default)
  --seed N         PRNG seed: lsm-state's key order, db_bench --seed (default 301)
  --db-bench PATH  the db_bench executable (default db_bench, looked up on PATH)
  --json FILE      also write the results as JSON to FILE
  -h, --help       this text`;

export interface Config {
  num: number;
  rounds: number;
  codec: Codec;
  batch: number;
  bloomBits: number;
  seed: number;
  dbBench: string;
  json: string | undefined;
}

function intFlag(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v.replaceAll('_', ''));
  if (!/^\d[\d_]*$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

export function parseConfig(argv: string[]): Config | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      num: { type: 'string' }, rounds: { type: 'string' }, codec: { type: 'string' }, batch: { type: 'string' },
      'bloom-bits': { type: 'string' }, seed: { type: 'string' }, 'db-bench': { type: 'string' }, json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}\n\n${USAGE}`);
  const codec = values.codec ?? 'snappy';
  if (!(CODECS as readonly string[]).includes(codec)) throw new UsageError(`--codec must be one of ${CODECS.join(', ')}, got ${JSON.stringify(codec)}`);
  return {
    num: intFlag('num', values.num, 1_000_000, 1),
    rounds: intFlag('rounds', values.rounds, 3, 1),
    codec: codec as Codec,
    batch: intFlag('batch', values.batch, 1000, 1),
    bloomBits: intFlag('bloom-bits', values['bloom-bits'], 10, 0),
    seed: intFlag('seed', values.seed, 301, 1),
    dbBench: values['db-bench'] ?? 'db_bench',
    json: values.json,
  };
}

// ---------------------------------------------------------------------------------------------
// One run

/** What one engine's run measured; seconds are wall time, job seconds summed over jobs. */
export interface Measured {
  fillSeconds: number;
  compactSeconds: number;
  /** Level-0 files when the compaction started (RocksDB: its flushes, none compacted before). */
  l0Files: number;
  jobs: number;
  /** Compaction input: summed sizes of the input files. */
  bytesRead: number;
  entries: number;
  jobSeconds: number;
  /** Files per level afterwards, e.g. "L6:1". */
  layout: string;
}

export interface Sample extends Measured {
  engine: EngineName;
  round: number;
  loadavg: number[];
  mbPerSecPerThread: number;
  entriesPerSecPerThread: number;
}

const seconds = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function lsmOptions(cfg: Config): DatabaseOptions {
  return {
    compression: cfg.codec, writeBufferSize: 4 << 20, targetFileSizeBase: 64 << 20,
    disableAutoCompactions: true, wal: false, bloomBitsPerKey: cfg.bloomBits,
  };
}

/** db_bench's fillrandom: ds.overwriteKeys are N uniform draws in [0, N). */
async function fillLsm(db: Database, ds: Dataset, batchSize: number): Promise<void> {
  const batch = new WriteBatch();
  const ks = ds.overwriteKeys;
  for (let i = 0; i < ks.length; i += batchSize) {
    batch.clear();
    const end = Math.min(ks.length, i + batchSize);
    for (let j = i; j < end; j++) batch.put(ds.keys[ks[j]!]!, ds.valueFor(ks[j]!, 0));
    db.write(batch);
    await turn(); // flush completions arrive as events; without a turn a full memtable waits longer
  }
  await db.flush();
}

async function measureLsm(db: Database, ds: Dataset, cfg: Config): Promise<Measured> {
  let t0 = process.hrtime.bigint();
  await fillLsm(db, ds, cfg.batch);
  const fillSeconds = seconds(t0);
  const before = db.stats();
  t0 = process.hrtime.bigint();
  await db.compactRange();
  const compactSeconds = seconds(t0);
  const after = db.stats();
  const [a, b] = [after.compaction, before.compaction];
  return {
    fillSeconds, compactSeconds,
    l0Files: before.levels[0]?.files ?? 0,
    jobs: a.count - b.count,
    bytesRead: a.bytesRead - b.bytesRead,
    entries: a.inputEntries - b.inputEntries,
    jobSeconds: (a.jobMicros - b.jobMicros) / 1e6,
    layout: after.levels.filter((l) => l.files > 0).map((l) => `L${l.level}:${l.files}`).join(' '),
  };
}

async function runLsm(ds: Dataset, cfg: Config): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'compaction-tput-lsm-'));
  try {
    const db = await Database.open(dir, lsmOptions(cfg));
    try {
      return await measureLsm(db, ds, cfg);
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function dbBenchArgs(cfg: Config, dir: string): string[] {
  return [
    '--benchmarks=fillrandom,compact,stats', `--num=${cfg.num}`, `--key_size=${KEY_SIZE}`, `--value_size=${VALUE_SIZE}`,
    `--compression_type=${cfg.codec}`, '--compression_ratio=0.5', '--write_buffer_size=4194304',
    '--target_file_size_base=67108864', '--disable_auto_compactions=1', '--disable_wal=1',
    `--batch_size=${cfg.batch}`, `--bloom_bits=${cfg.bloomBits}`, `--seed=${cfg.seed}`,
    '--subcompactions=1', // its default, spelled out: one thread per job, as lsm-state
    '--progress_reports=0', `--db=${dir}`,
  ];
}

/** Runs db_bench once; its parsed figures, or why there are none. */
function runRocks(cfg: Config): Measured | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), 'compaction-tput-rocksdb-'));
  try {
    const r = spawnSync(cfg.dbBench, dbBenchArgs(cfg, dir), { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.error !== undefined) return { error: `${cfg.dbBench}: ${r.error.message}` };
    if (r.status !== 0) return { error: `${cfg.dbBench} exited with ${r.status ?? r.signal}: ${tail(r.stderr || r.stdout)}` };
    try {
      return parseDbBench(r.stdout);
    } catch (err) {
      return { error: (err as Error).message }; // another db_bench version's layout: a note, and the other rounds go on
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const tail = (s: string): string => s.trim().split('\n').slice(-3).join(' / ');

// ---------------------------------------------------------------------------------------------
// db_bench output

/** Wall seconds of one benchmark line: "compact : 213143.000 micros/op 4 ops/sec 0.213 seconds 1 operations;". */
export function benchSeconds(out: string, name: string): number {
  const m = new RegExp(`^${name}\\s*:\\s*([\\d.]+) micros/op .*? (\\d+) operations`, 'm').exec(out);
  if (m === null) throw new Error(`db_bench output has no "${name} :" line`);
  return (Number(m[1]) * Number(m[2])) / 1e6;
}

/** db_bench's human counts: "186K", "12M", "950" (NumberToHumanString). */
export function humanCount(s: string): number {
  const m = /^(\d+)([KMG]?)$/.exec(s);
  if (m === null) throw new Error(`not a db_bench count: ${JSON.stringify(s)}`);
  return Number(m[1]) * { '': 1, K: 1e3, M: 1e6, G: 1e9 }[m[2] as '' | 'K' | 'M' | 'G'];
}

/** The per-level rows of the first "Compaction Stats" table, as header name → cell. */
export function levelRows(out: string): Map<string, string>[] {
  const lines = out.split('\n');
  const at = lines.findIndex((l) => /^\s*Level\s+Files\s+Size\b/.test(l));
  if (at < 0) throw new Error('db_bench output has no "Compaction Stats" level table');
  const header = lines[at]!.trim().split(/\s+/);
  const rows: Map<string, string>[] = [];
  for (const line of lines.slice(at + 2)) {
    const cells = line.trim().split(/\s+/);
    if (!/^L\d+$/.test(cells[0] ?? '')) break; // "Sum" ends the levels
    cells.splice(2, 2, `${cells[2]} ${cells[3]}`); // Size is "7.77 MB": two tokens, one column
    if (cells.length !== header.length) throw new Error(`unexpected Compaction Stats row: ${line}`);
    rows.push(new Map(header.map((h, i) => [h, cells[i]!])));
  }
  return rows;
}

/** Rd(MB/s) is bytes read (input file sizes) / 2^20 / Comp(sec), so bytes = Rd × Comp × 2^20. */
export function parseDbBench(out: string): Measured {
  const rows = levelRows(out);
  const cell = (r: Map<string, string>, h: string): string => {
    const v = r.get(h);
    if (v === undefined) throw new Error(`db_bench Compaction Stats has no ${h} column`);
    return v;
  };
  const num = (r: Map<string, string>, h: string): number => Number(cell(r, h));
  const lower = rows.filter((r) => cell(r, 'Level') !== 'L0' && num(r, 'Comp(cnt)') > 0);
  const sum = (f: (r: Map<string, string>) => number): number => lower.reduce((n, r) => n + f(r), 0);
  const l0 = rows.find((r) => cell(r, 'Level') === 'L0');
  return {
    fillSeconds: benchSeconds(out, 'fillrandom'),
    compactSeconds: benchSeconds(out, 'compact'),
    l0Files: l0 === undefined ? 0 : num(l0, 'Comp(cnt)'),
    jobs: sum((r) => num(r, 'Comp(cnt)')),
    bytesRead: sum((r) => num(r, 'Rd(MB/s)') * num(r, 'Comp(sec)') * 2 ** 20),
    entries: sum((r) => humanCount(cell(r, 'KeyIn'))),
    jobSeconds: sum((r) => num(r, 'Comp(sec)')),
    layout: rows.filter((r) => !cell(r, 'Files').startsWith('0/')).map((r) => `${cell(r, 'Level')}:${cell(r, 'Files').split('/')[0]}`).join(' '),
  };
}

/** db_bench's version, or undefined when it cannot be run. */
function dbBenchVersion(path: string): string | undefined {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) return undefined;
  return /version\s+(\S+)/.exec(r.stdout)?.[1] ?? 'unknown version';
}

// ---------------------------------------------------------------------------------------------
// Rounds, summary, report

function toSample(engine: EngineName, round: number, load: number[], m: Measured): Sample {
  return {
    engine, round, loadavg: load, ...m,
    mbPerSecPerThread: m.bytesRead / 1e6 / m.jobSeconds,
    entriesPerSecPerThread: m.entries / m.jobSeconds,
  };
}

const fmtLoad = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');

async function runOne(engine: EngineName, round: number, ds: Dataset, cfg: Config, notes: string[]): Promise<Sample | undefined> {
  const load = loadavg();
  process.stderr.write(`round ${round}/${cfg.rounds} ${engine}: load average ${fmtLoad(load)}\n`);
  const m = engine === 'lsm-state' ? await runLsm(ds, cfg) : runRocks(cfg);
  if ('error' in m) {
    notes.push(`round ${round} rocksdb: no result (${m.error})`);
    process.stderr.write(`  ${notes[notes.length - 1]}\n`);
    return undefined;
  }
  const s = toSample(engine, round, load, m);
  process.stderr.write(`  compaction ${s.compactSeconds.toFixed(2)} s, ${(s.bytesRead / 1e6).toFixed(1)} MB in ${s.jobSeconds.toFixed(2)} job s: ${s.mbPerSecPerThread.toFixed(1)} MB/s per thread\n`);
  return s;
}

/** Medians over an engine's runs, with the per-thread rates they give. */
export interface Summary extends Omit<Measured, 'layout'> {
  engine: EngineName;
  runs: number;
  mbPerSecPerThread: number;
  entriesPerSecPerThread: number;
}

const MEDIAN_FIELDS = ['fillSeconds', 'compactSeconds', 'l0Files', 'jobs', 'bytesRead', 'entries', 'jobSeconds', 'mbPerSecPerThread', 'entriesPerSecPerThread'] as const;

function summarise(engine: EngineName, samples: Sample[]): Summary | undefined {
  const mine = samples.filter((s) => s.engine === engine);
  if (mine.length === 0) return undefined;
  const out = { engine, runs: mine.length } as Summary;
  for (const f of MEDIAN_FIELDS) out[f] = median(mine.map((s) => s[f]));
  return out;
}

export interface Ratios {
  /** lsm-state / RocksDB of the median input MB/s per compaction thread (> 1: lsm-state faster). */
  mbPerSecPerThread: number;
  /** lsm-state / RocksDB of the median wall seconds of the full compaction (< 1: lsm-state faster). */
  compactSeconds: number;
}

const mb = (b: number): string => (b / 1e6).toFixed(1);
const int = (x: number): string => Math.round(x).toLocaleString('en-US');

function summaryRow(s: Summary, label: string): string {
  return `| ${label} | ${s.runs} | ${s.fillSeconds.toFixed(2)} | ${s.l0Files} | ${s.compactSeconds.toFixed(2)} | ${s.jobs} | ${mb(s.bytesRead)} | ` +
    `${int(s.entries)} | ${s.jobSeconds.toFixed(2)} | ${s.mbPerSecPerThread.toFixed(1)} | ${int(s.entriesPerSecPerThread)} |`;
}

function sampleRow(s: Sample): string {
  return `| ${s.round} | ${s.engine} | ${fmtLoad(s.loadavg)} | ${s.compactSeconds.toFixed(2)} | ${mb(s.bytesRead)} | ${s.jobSeconds.toFixed(2)} | ` +
    `${s.mbPerSecPerThread.toFixed(1)} | ${int(s.entriesPerSecPerThread)} | ${s.layout} |`;
}

export interface Report {
  cfg: Config;
  env: Record<string, string>;
  samples: Sample[];
  summaries: Summary[];
  ratios: Ratios | undefined;
  notes: string[];
}

function render(r: Report): string {
  const { cfg, env } = r;
  const label = (e: EngineName): string => (e === 'rocksdb' ? `rocksdb (db_bench ${env.dbBench})` : 'lsm-state');
  return [
    `## Compaction throughput: full compaction of fillrandom N = ${int(cfg.num)}, codec ${cfg.codec}, median of ${cfg.rounds} round${cfg.rounds === 1 ? '' : 's'}`,
    '',
    `- ${env.date}; node ${env.node}; ${env.nproc} × ${env.cpu}; load average ${env.loadStart} at start, ${env.loadEnd} at end`,
    `- keys ${KEY_SIZE} B, values ${VALUE_SIZE} B (compression ratio 0.5), write batches of ${cfg.batch}, write buffer 4 MiB, target file 64 MiB, bloom ${cfg.bloomBits} bits/key, WAL off, auto compactions off`,
    '',
    '| engine | runs | fill s | L0 files | compaction s (wall) | jobs | input MB | input entries | job s (Σ) | input MB/s per thread | entries/s per thread |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.summaries.map((s) => summaryRow(s, label(s.engine))),
    '',
    r.ratios === undefined
      ? 'lsm-state / RocksDB: not measured (needs both engines)'
      : `lsm-state / RocksDB: input MB/s per thread ${r.ratios.mbPerSecPerThread.toFixed(2)}× (higher is better), compaction wall seconds ${r.ratios.compactSeconds.toFixed(2)}× (lower is better)`,
    '',
    "lsm-state's compactRange merges L0 into the base level, then rewrites the last level in place (two passes); db_bench's compact makes one. Compare input MB/s per thread, not wall seconds. MB = 10^6 bytes; db_bench's figures come from its Compaction Stats rows below L0 (Comp(sec) has two decimals: good to about 1 % once a job takes a second, not at a small --num).",
    ...r.notes.map((n) => `- note: ${n}`),
    '',
    '### Runs (in the order they ran)',
    '',
    '| round | engine | load average before | compaction s | input MB | job s | MB/s per thread | entries/s per thread | files after |',
    '|---:|---|---|---:|---:|---:|---:|---:|---|',
    ...r.samples.map(sampleRow),
  ].join('\n');
}

function ratiosOf(summaries: Summary[]): Ratios | undefined {
  const a = summaries.find((s) => s.engine === 'lsm-state');
  const b = summaries.find((s) => s.engine === 'rocksdb');
  if (a === undefined || b === undefined) return undefined;
  return { mbPerSecPerThread: a.mbPerSecPerThread / b.mbPerSecPerThread, compactSeconds: a.compactSeconds / b.compactSeconds };
}

/** Engines to run; RocksDB only when db_bench runs (a missing tool is a note, not a failure). */
function pickEngines(cfg: Config, env: Record<string, string>, notes: string[]): EngineName[] {
  const version = dbBenchVersion(cfg.dbBench);
  if (version === undefined) {
    notes.push(`${cfg.dbBench} not found or not runnable: RocksDB rows skipped (Debian: apt-get install rocksdb-tools)`);
    process.stderr.write(`note: ${notes[notes.length - 1]}\n`);
    return ['lsm-state'];
  }
  env.dbBench = version;
  return ['lsm-state', 'rocksdb'];
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<Report | undefined> {
  const cfg = parseConfig(argv);
  if (cfg === 'help') {
    console.log(USAGE);
    return undefined;
  }
  const env: Record<string, string> = {
    date: new Date().toISOString(), node: process.version, nproc: String(cpus().length),
    cpu: cpus()[0]?.model ?? 'unknown cpu', loadStart: fmtLoad(loadavg()), loadEnd: '',
  };
  const notes: string[] = [];
  const engines = pickEngines(cfg, env, notes);
  const ds = new Dataset(cfg.num, 0, cfg.seed);
  const samples: Sample[] = [];
  // A B A B …: drift in the shared machine's load hits both engines alike.
  for (let round = 1; round <= cfg.rounds; round++) {
    for (const engine of engines) {
      const s = await runOne(engine, round, ds, cfg, notes);
      if (s !== undefined) samples.push(s);
    }
  }
  env.loadEnd = fmtLoad(loadavg());
  const summaries = engines.map((e) => summarise(e, samples)).filter((s): s is Summary => s !== undefined);
  const report: Report = { cfg, env, samples, summaries, ratios: ratiosOf(summaries), notes };
  console.log(render(report));
  if (cfg.json !== undefined) {
    writeFileSync(cfg.json, `${JSON.stringify(report, null, 2)}\n`);
    process.stderr.write(`results: ${cfg.json}\n`);
  }
  return report;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  });
}
