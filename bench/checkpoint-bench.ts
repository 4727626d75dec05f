/**
 * Issue #4's checkpoint benchmark: a keyed workload scaled from the classic example of
 * incremental checkpointing (build S_o of raw state, then change ~10% of it per interval and
 * checkpoint after each interval), once per codec × mode × compaction style (16 configurations).
 *
 * State looks like a stream processor's keyed state:
 *   user:<id>:profile   {"country":"DE","plan":"pro","lang":"de","signup":"2023-04-12"}
 *   user:<id>:clicks    {"n":1234,"last":1714000000123}
 *   user:<id>:session   {"sid":"s-3f9a01c2","pages":["/home","/cart"],"dur":1234}
 *   agg:<minute window>:country=DE,device=ios,plan=pro   {"count":..,"sum":..,"min":..,"max":..,"hll":"<hex>"}
 * Per interval: ~70% of changed bytes are updates (skewed toward hot keys), ~18% inserts (new
 * users, new windows), ~12% deletes (expired windows, churned users). Seeded PRNG: every
 * configuration sees the same operations.
 *
 * Per configuration: raw state S_o (live key+value bytes of the model), on-disk S_c (referenced
 * bytes of the last checkpoint), per checkpoint uploaded ΔS and referenced S, new/reused files,
 * duration and writer-blocked time; then the last checkpoint is restored and every key is compared
 * with the model (mismatches must be 0), with restore throughput next to a plain copy.
 *
 * Usage: node dist/bench/checkpoint-bench.js [--state-mb 24] [--intervals 10] [--change-pct 10]
 *   [--codecs none,snappy,lz4,zstd] [--modes incremental,full] [--styles leveled,universal]
 *   [--write-buffer-mb N] [--target-file-mb N] [--seed 42] [--out bench-results] [--retain 3]
 */
import { copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CheckpointStorage, Checkpointer, Database, WriteBatch, readCheckpointMetadata, restoreCheckpoint,
  type CheckpointResult, type CompressionName, type DatabaseOptions,
} from '../src/index.js';
import { codecFor, compressionTypeFromName, loadCodecs } from '../src/sstable/compression.js';
import { barChart } from './svg-charts.js';

const MiB = 1024 * 1024;
const ALL_CODECS: CompressionName[] = ['none', 'snappy', 'lz4', 'zstd'];
const ALL_MODES = ['incremental', 'full'] as const;
const ALL_STYLES = ['leveled', 'universal'] as const;
type Mode = (typeof ALL_MODES)[number];
type Style = (typeof ALL_STYLES)[number];

// ------------------------------------------------------------------------------------------
// Seeded PRNG and the state model

/** mulberry32: small, fast, seeded. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COUNTRIES = ['DE', 'US', 'FR', 'GB', 'IN', 'BR', 'JP', 'NL'];
const DEVICES = ['ios', 'android', 'web'];
const PLANS = ['free', 'pro', 'team'];
const LANGS = ['de', 'en', 'fr', 'pt', 'ja', 'nl'];
const PAGES = ['/home', '/cart', '/search', '/product', '/checkout', '/account', '/help'];
const USER_FIELDS = ['profile', 'clicks', 'session'] as const;
const DIMS: string[] = [];
for (const c of COUNTRIES) for (const d of DEVICES) for (const p of PLANS) DIMS.push(`country=${c},device=${d},plan=${p}`);

interface Op {
  key: string;
  /** undefined: delete */
  value: string | undefined;
}

/** The live state (key → value) plus what the workload needs to pick keys. */
class Model {
  readonly values = new Map<string, string>();
  readonly #keys: string[] = [];
  readonly #pos = new Map<string, number>();
  readonly #windows: { minute: number; keys: string[] }[] = [];
  #nextUser = 0;
  #nextMinute = 0;
  rawBytes = 0;
  readonly #r: () => number;
  readonly #t0 = 1714000000000;

  constructor(seed: number) {
    this.#r = prng(seed);
  }

  get size(): number {
    return this.values.size;
  }

  #int(n: number): number {
    return Math.floor(this.#r() * n);
  }
  #pick<T>(a: readonly T[]): T {
    return a[this.#int(a.length)]!;
  }
  #hex(n: number): string {
    let s = '';
    while (s.length < n) s += ((this.#r() * 0x100000000) >>> 0).toString(16).padStart(8, '0');
    return s.slice(0, n);
  }
  #userKey(id: number, field: string): string {
    return `user:${String(id).padStart(9, '0')}:${field}`;
  }
  #windowName(minute: number): string {
    return new Date(this.#t0 + minute * 60000).toISOString().slice(0, 16);
  }

  #userValue(field: string, prev: string | undefined): string {
    switch (field) {
      case 'profile':
        return `{"country":"${this.#pick(COUNTRIES)}","plan":"${this.#pick(PLANS)}","lang":"${this.#pick(LANGS)}","signup":"2023-${String(1 + this.#int(12)).padStart(2, '0')}-${String(1 + this.#int(28)).padStart(2, '0')}"}`;
      case 'clicks': {
        const n = prev === undefined ? this.#int(50) : Number(/"n":(\d+)/.exec(prev)?.[1] ?? 0) + 1 + this.#int(20);
        return `{"n":${n},"last":${this.#t0 + this.#int(86400000)}}`;
      }
      default: {
        const pages: string[] = [];
        for (let i = 1 + this.#int(4); i > 0; i--) pages.push(`"${this.#pick(PAGES)}"`);
        return `{"sid":"s-${this.#hex(8)}","pages":[${pages.join(',')}],"dur":${this.#int(4000)}}`;
      }
    }
  }

  #aggValue(prev: string | undefined): string {
    let count = 1 + this.#int(30);
    let sum = Math.round(this.#r() * 50000) / 100;
    if (prev !== undefined) {
      count += Number(/"count":(\d+)/.exec(prev)?.[1] ?? 0);
      sum += Number(/"sum":([\d.]+)/.exec(prev)?.[1] ?? 0);
    }
    return `{"count":${count},"sum":${sum.toFixed(2)},"min":${(this.#r() * 5).toFixed(2)},"max":${(50 + this.#r() * 50).toFixed(2)},"hll":"${this.#hex(16)}"}`;
  }

  #set(ops: Op[], key: string, value: string): number {
    const prev = this.values.get(key);
    if (prev === undefined) {
      this.#pos.set(key, this.#keys.length);
      this.#keys.push(key);
      this.rawBytes += key.length + value.length;
    } else {
      this.rawBytes += value.length - prev.length;
    }
    this.values.set(key, value);
    ops.push({ key, value });
    return key.length + value.length;
  }

  #del(ops: Op[], key: string): number {
    const prev = this.values.get(key);
    if (prev === undefined) return 0;
    this.values.delete(key);
    this.rawBytes -= key.length + prev.length;
    const i = this.#pos.get(key)!;
    const last = this.#keys.pop()!;
    if (last !== key) {
      this.#keys[i] = last;
      this.#pos.set(last, i);
    }
    this.#pos.delete(key);
    ops.push({ key, value: undefined });
    return key.length;
  }

  #insertUser(ops: Op[]): number {
    const id = this.#nextUser++;
    let b = 0;
    for (const f of USER_FIELDS) b += this.#set(ops, this.#userKey(id, f), this.#userValue(f, undefined));
    return b;
  }

  #insertWindow(ops: Op[]): number {
    const minute = this.#nextMinute++;
    const w = this.#windowName(minute);
    const keys: string[] = [];
    let b = 0;
    for (const dim of DIMS) {
      if (this.#r() < 0.6) continue; // a window sees ~40% of the dimension combinations
      const k = `agg:${w}:${dim}`;
      keys.push(k);
      b += this.#set(ops, k, this.#aggValue(undefined));
    }
    this.#windows.push({ minute, keys });
    return b;
  }

  #insert(ops: Op[]): number {
    return this.#r() < 0.75 ? this.#insertUser(ops) : this.#insertWindow(ops);
  }

  /** Initial state of about `bytes` raw bytes. */
  build(bytes: number): Op[] {
    const ops: Op[] = [];
    while (this.rawBytes < bytes) this.#insert(ops);
    return ops;
  }

  /** One interval: changes about `bytes` raw bytes. Returns the ops and the bytes changed. */
  interval(bytes: number): { ops: Op[]; changedBytes: number } {
    const ops: Op[] = [];
    let changed = 0;
    while (changed < bytes) {
      const x = this.#r();
      if (x < 0.7 && this.#keys.length > 0) {
        // update, skewed toward a hot fraction of the keys (r^3 concentrates on the front)
        const key = this.#keys[Math.floor(this.#r() ** 3 * this.#keys.length)]!;
        const prev = this.values.get(key)!;
        const value = key.startsWith('agg:') ? this.#aggValue(prev) : this.#userValue(key.slice(key.lastIndexOf(':') + 1), prev);
        changed += this.#set(ops, key, value);
      } else if (x < 0.88 || this.#keys.length === 0) {
        changed += this.#insert(ops);
      } else if (this.#r() < 0.5 && this.#windows.length > 1) {
        const w = this.#windows.shift()!; // the oldest window expires
        for (const k of w.keys) changed += this.#del(ops, k);
      } else {
        const key = this.#keys[this.#int(this.#keys.length)]!;
        if (key.startsWith('user:')) {
          const base = key.slice(0, key.lastIndexOf(':') + 1); // a churned user: all fields go
          for (const f of USER_FIELDS) changed += this.#del(ops, base + f);
        } else {
          changed += this.#del(ops, key);
        }
      }
    }
    return { ops, changedBytes: changed };
  }
}

// ------------------------------------------------------------------------------------------
// One configuration

interface IntervalRow {
  interval: number;
  rawBytes: number;
  changedRawBytes: number;
  uploadedBytes: number;
  referencedBytes: number;
  newFiles: number;
  reusedFiles: number;
  durationMs: number;
  writerBlockedMs: number;
}

interface ConfigResult {
  codec: CompressionName;
  mode: Mode;
  style: Style;
  rawBytes: number;
  compressedBytes: number;
  ratio: number;
  /** S_o / S at the initial checkpoint (freshly flushed, no obsolete versions): the codec's own ratio. */
  initialRatio: number;
  /** S_c / (S_o / initialRatio): obsolete versions and tombstones the live tables still hold. */
  spaceAmp: number;
  /** interval 0 is the checkpoint of the initial state; 1..n the intervals. */
  checkpoints: IntervalRow[];
  meanUploaded: number;
  meanReferenced: number;
  totalUploaded: number;
  checkpointP50Ms: number;
  writerBlockedMaxMs: number;
  restore: { keys: number; mismatches: number; bytes: number; restoreMs: number; restoreMBps: number; copyMBps: number };
  flushes: number;
  compactions: unknown;
  wallMs: number;
}

const tick = (): Promise<void> => new Promise((res) => setImmediate(res));
const enc = new TextEncoder();

async function apply(db: Database, ops: Op[]): Promise<void> {
  const b = new WriteBatch();
  for (let i = 0; i < ops.length; i += 1000) {
    b.clear();
    for (const op of ops.slice(i, i + 1000)) {
      if (op.value === undefined) b.delete(enc.encode(op.key));
      else b.put(enc.encode(op.key), enc.encode(op.value));
    }
    db.write(b);
    await tick(); // let flush and compaction results in
  }
}

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)]!;
}

interface RunParams {
  stateBytes: number;
  intervals: number;
  changePct: number;
  seed: number;
  retain: number;
  dbOptions: DatabaseOptions;
}

async function runConfig(codec: CompressionName, mode: Mode, style: Style, p: RunParams): Promise<ConfigResult> {
  const t0 = performance.now();
  const dbDir = await mkdtemp(join(tmpdir(), 'ckbench-db-'));
  const storeDir = await mkdtemp(join(tmpdir(), 'ckbench-store-'));
  const restoreDir = join(await mkdtemp(join(tmpdir(), 'ckbench-restore-')), 'db');
  const copyDir = await mkdtemp(join(tmpdir(), 'ckbench-copy-'));
  const options: DatabaseOptions = { ...p.dbOptions, compression: codec, compactionStyle: style };
  try {
    const model = new Model(p.seed);
    const db = await Database.open(dbDir, options);
    const storage = CheckpointStorage.directory(storeDir);
    const cp = await Checkpointer.open(db, storage, { mode, retain: p.retain });
    const rows: IntervalRow[] = [];
    const record = (interval: number, changed: number, r: CheckpointResult): void => {
      rows.push({
        interval, rawBytes: model.rawBytes, changedRawBytes: changed, uploadedBytes: r.uploadedBytes, referencedBytes: r.referencedBytes,
        newFiles: r.newFiles, reusedFiles: r.reusedFiles, durationMs: r.durationMs, writerBlockedMs: r.writerBlockedMs,
      });
    };
    const initial = model.build(p.stateBytes);
    await apply(db, initial);
    record(0, model.rawBytes, await cp.checkpoint());
    for (let i = 1; i <= p.intervals; i++) {
      const { ops, changedBytes } = model.interval((model.rawBytes * p.changePct) / 100);
      await apply(db, ops);
      record(i, changedBytes, await cp.checkpoint());
    }
    const stats = db.stats();
    await db.close();

    // Restore the last checkpoint and compare every key with the model.
    const meta = await readCheckpointMetadata(storage, 'latest');
    const rs = await restoreCheckpoint(storage, 'latest', restoreDir);
    const c0 = performance.now();
    let copied = 0;
    for (const f of meta.files) {
      const dst = join(copyDir, f.localName);
      await copyFile(join(storeDir, ...f.storageName.split('/')), dst);
      copied += (await stat(dst)).size;
    }
    const copyMs = performance.now() - c0;
    const rdb = await Database.open(restoreDir, options);
    let mismatches = 0;
    let seen = 0;
    let found = 0;
    const dec = new TextDecoder();
    const it = rdb.iterator();
    try {
      for (const [key, value] of it) {
        seen++;
        const want = model.values.get(dec.decode(key));
        if (want !== undefined) found++;
        if (want !== dec.decode(value)) mismatches++; // extra key or wrong value
      }
    } finally {
      it.close();
    }
    mismatches += model.size - found; // keys the restore lacks
    await rdb.close();

    const last = rows[rows.length - 1]!;
    const ivs = rows.slice(1);
    const totalUploaded = ivs.reduce((a, r) => a + r.uploadedBytes, 0);
    return {
      codec, mode, style,
      rawBytes: model.rawBytes,
      compressedBytes: last.referencedBytes,
      ratio: model.rawBytes / Math.max(1, last.referencedBytes),
      initialRatio: rows[0]!.rawBytes / Math.max(1, rows[0]!.referencedBytes),
      spaceAmp: last.referencedBytes / Math.max(1, model.rawBytes / (rows[0]!.rawBytes / Math.max(1, rows[0]!.referencedBytes))),
      checkpoints: rows,
      meanUploaded: totalUploaded / Math.max(1, ivs.length),
      meanReferenced: ivs.reduce((a, r) => a + r.referencedBytes, 0) / Math.max(1, ivs.length),
      totalUploaded,
      checkpointP50Ms: p50(ivs.map((r) => r.durationMs)),
      writerBlockedMaxMs: Math.max(0, ...rows.map((r) => r.writerBlockedMs)),
      restore: {
        keys: seen, mismatches, bytes: rs.bytes, restoreMs: rs.durationMs,
        restoreMBps: rs.bytes / MiB / Math.max(1e-3, rs.durationMs / 1000),
        copyMBps: copied / MiB / Math.max(1e-3, copyMs / 1000),
      },
      flushes: stats.flush.count,
      compactions: stats.compaction,
      wallMs: performance.now() - t0,
    };
  } finally {
    for (const d of [dbDir, storeDir, join(restoreDir, '..'), copyDir]) await rm(d, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------
// Report

const mb = (b: number): string => (b / MiB).toFixed(2);
const ms = (x: number): string => x.toFixed(x < 10 ? 2 : 0);

function bar(value: number, max: number, width: number, ch = '█'): string {
  const n = max <= 0 ? 0 : Math.round((value / max) * width);
  return ch.repeat(Math.max(0, n)).padEnd(width, ' ');
}

function summaryTable(results: ConfigResult[]): string[] {
  const lines = [
    '| codec | style | mode | S_o raw MB | S_c MB | ratio S_o/S_c | C₀ initial ratio | space amp | mean ΔS MB | mean S MB | ΔS/S | total uploaded MB | ckpt p50 ms | writer blocked max ms | restore check |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    lines.push(`| ${r.codec} | ${r.style} | ${r.mode} | ${mb(r.rawBytes)} | ${mb(r.compressedBytes)} | ${r.ratio.toFixed(2)} | ${r.initialRatio.toFixed(2)} | ${r.spaceAmp.toFixed(2)} | ${mb(r.meanUploaded)} | ${mb(r.meanReferenced)} | ${(r.meanUploaded / Math.max(1, r.meanReferenced)).toFixed(3)} | ${mb(r.totalUploaded)} | ${ms(r.checkpointP50Ms)} | ${ms(r.writerBlockedMaxMs)} | ${r.restore.mismatches === 0 ? `ok (${r.restore.keys} keys)` : `**${r.restore.mismatches} mismatches**`} |`);
  }
  return lines;
}

function pairTable(results: ConfigResult[]): string[] {
  const lines = [
    '| codec | style | total uploaded incremental MB | total uploaded full MB | incremental / full | changed raw MB (all intervals) | changed raw × C MB | incremental / (changed × C) |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const inc of results.filter((r) => r.mode === 'incremental')) {
    const full = results.find((r) => r.mode === 'full' && r.codec === inc.codec && r.style === inc.style);
    const changed = inc.checkpoints.slice(1).reduce((a, r) => a + r.changedRawBytes, 0);
    const changedC = changed / inc.initialRatio;
    lines.push(`| ${inc.codec} | ${inc.style} | ${mb(inc.totalUploaded)} | ${full ? mb(full.totalUploaded) : '-'} | ${full ? (inc.totalUploaded / full.totalUploaded).toFixed(3) : '-'} | ${mb(changed)} | ${mb(changedC)} | ${(inc.totalUploaded / Math.max(1, changedC)).toFixed(2)} |`);
  }
  return lines;
}

function intervalTable(r: ConfigResult): string[] {
  const lines = [
    `#### ${r.codec} / ${r.style} / ${r.mode}`,
    '',
    '| interval | S_o raw MB | changed raw MB | ΔS uploaded MB | S referenced MB | ΔS/S | new files | reused files | duration ms | writer blocked ms |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const c of r.checkpoints) {
    lines.push(`| ${c.interval === 0 ? '0 (initial)' : c.interval} | ${mb(c.rawBytes)} | ${mb(c.changedRawBytes)} | ${mb(c.uploadedBytes)} | ${mb(c.referencedBytes)} | ${(c.uploadedBytes / Math.max(1, c.referencedBytes)).toFixed(3)} | ${c.newFiles} | ${c.reusedFiles} | ${ms(c.durationMs)} | ${ms(c.writerBlockedMs)} |`);
  }
  lines.push('');
  return lines;
}

function uploadChart(inc: ConfigResult, full: ConfigResult | undefined): string[] {
  const rows = inc.checkpoints.slice(1);
  const max = Math.max(...rows.map((r) => r.referencedBytes), ...(full?.checkpoints.slice(1).map((r) => r.uploadedBytes) ?? []));
  const lines = [`ΔS uploaded per interval, ${inc.codec} / ${inc.style} (█ incremental ΔS, ▒ full ΔS (= S), scale: ${mb(max)} MB)`];
  for (const r of rows) {
    const f = full?.checkpoints[r.interval];
    lines.push(`  #${String(r.interval).padStart(2)} inc  |${bar(r.uploadedBytes, max, 50)}| ${mb(r.uploadedBytes).padStart(8)} MB`);
    if (f) lines.push(`      full |${bar(f.uploadedBytes, max, 50, '▒')}| ${mb(f.uploadedBytes).padStart(8)} MB`);
  }
  return lines;
}

function ratioChart(results: ConfigResult[]): string[] {
  const rs = results.filter((r) => r.mode === 'incremental');
  const max = Math.max(...rs.map((r) => r.ratio));
  const max0 = Math.max(max, ...rs.map((r) => r.initialRatio));
  const lines = [`compression ratio per codec (incremental runs; █ C₀ = S_o/S at the initial checkpoint, ▒ S_o/S_c after the last interval; scale ${max0.toFixed(2)}x)`];
  for (const r of rs) {
    lines.push(`  ${`${r.codec}/${r.style}`.padEnd(17)} |${bar(r.initialRatio, max0, 40)}| ${r.initialRatio.toFixed(2)}x  S ${mb(r.checkpoints[0]!.referencedBytes)} MB`);
    lines.push(`  ${''.padEnd(17)} |${bar(r.ratio, max0, 40, '▒')}| ${r.ratio.toFixed(2)}x  S_c ${mb(r.compressedBytes)} MB`);
  }
  return lines;
}

// ------------------------------------------------------------------------------------------

function codecAvailable(name: CompressionName): string | undefined {
  try {
    codecFor(compressionTypeFromName(name));
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function splitList<T extends string>(name: string, s: string, allowed: readonly T[]): T[] {
  const out = s.split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const x of out) if (!allowed.includes(x as T)) throw Object.assign(new Error(`--${name}: unknown ${JSON.stringify(x)} (allowed: ${allowed.join(', ')})`), { name: 'UsageError' });
  return out as T[];
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<unknown> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'state-mb': { type: 'string', default: '24' },
      intervals: { type: 'string', default: '10' },
      'change-pct': { type: 'string', default: '10' },
      codecs: { type: 'string', default: ALL_CODECS.join(',') },
      modes: { type: 'string', default: ALL_MODES.join(',') },
      styles: { type: 'string', default: ALL_STYLES.join(',') },
      'write-buffer-mb': { type: 'string' },
      'target-file-mb': { type: 'string' },
      seed: { type: 'string', default: '42' },
      retain: { type: 'string', default: '3' },
      out: { type: 'string', default: 'bench-results' },
      'detail-all': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: checkpoint-bench [--state-mb 24] [--intervals 10] [--change-pct 10] [--codecs none,snappy,lz4,zstd] [--modes incremental,full] [--styles leveled,universal] [--write-buffer-mb N] [--target-file-mb N] [--seed 42] [--retain 3] [--out bench-results] [--detail-all]');
    return undefined;
  }
  const stateMb = Number(values['state-mb']);
  const intervals = Number(values.intervals);
  const changePct = Number(values['change-pct']);
  if (!(stateMb > 0) || !Number.isInteger(intervals) || intervals < 1 || !(changePct > 0)) {
    throw Object.assign(new Error('--state-mb, --intervals and --change-pct must be positive'), { name: 'UsageError' });
  }
  // Memtables and files scale with the state (1/16 of it, 1..8 MiB) so there are files to share.
  const auto = Math.min(8, Math.max(1, stateMb / 16));
  const wbMb = values['write-buffer-mb'] !== undefined ? Number(values['write-buffer-mb']) : auto;
  const tfMb = values['target-file-mb'] !== undefined ? Number(values['target-file-mb']) : auto;
  const dbOptions: DatabaseOptions = {
    wal: false, // Flink's setting: durability comes from the checkpoints
    writeBufferSize: Math.round(wbMb * MiB),
    targetFileSizeBase: Math.round(tfMb * MiB),
    maxBytesForLevelBase: Math.round(4 * wbMb * MiB),
  };
  await loadCodecs();
  const notes: string[] = [];
  const codecs = splitList('codecs', values.codecs, ALL_CODECS).filter((c) => {
    const missing = codecAvailable(c);
    if (missing !== undefined) notes.push(`skipped codec ${c}: ${missing}`);
    return missing === undefined;
  });
  const modes = splitList('modes', values.modes, ALL_MODES);
  const styles = splitList('styles', values.styles, ALL_STYLES);
  const params: RunParams = { stateBytes: stateMb * 1e6, intervals, changePct, seed: Number(values.seed), retain: Number(values.retain), dbOptions };

  const started = performance.now();
  const results: ConfigResult[] = [];
  for (const codec of codecs) {
    for (const style of styles) {
      for (const mode of modes) {
        process.stderr.write(`checkpoint bench: ${codec} / ${style} / ${mode} ... `);
        const r = await runConfig(codec, mode, style, params);
        process.stderr.write(`${(r.wallMs / 1000).toFixed(1)} s, mismatches ${r.restore.mismatches}\n`);
        results.push(r);
      }
    }
  }
  const totalSec = (performance.now() - started) / 1000;

  const date = new Date().toISOString();
  const out: string[] = [
    `## checkpoint bench: ${mb(params.stateBytes)} MiB (${stateMb} MB) raw state, ${intervals} intervals × ~${changePct}% changed`,
    '',
    `- ${date}; node ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? '?'}; total ${totalSec.toFixed(1)} s for ${results.length} configurations`,
    `- options: writeBufferSize ${wbMb} MiB, targetFileSizeBase ${tfMb} MiB, maxBytesForLevelBase ${4 * wbMb} MiB, wal off, retain ${params.retain}; directory storage on local disk; seed ${params.seed}`,
    ...notes.map((n) => `- note: ${n}`),
    '',
    '### Summary (mean over intervals 1..n; the initial checkpoint is excluded)',
    '',
    ...summaryTable(results),
    '',
    '### Incremental against full (sums over intervals 1..n)',
    '',
    '"changed raw × C": the bytes the changed keys would take compressed at the codec\'s own ratio (C = 1/C₀, from the initial checkpoint); incremental/(changed × C) above 1 is what flushes and compaction add on top of the changed data.',
    '',
    ...pairTable(results),
    '',
    '### Restore of the last checkpoint (directory storage)',
    '',
    '| codec | style | mode | keys | mismatches | bytes MB | restore MB/s | plain copy MB/s |',
    '|---|---|---|---:|---:|---:|---:|---:|',
    ...results.map((r) => `| ${r.codec} | ${r.style} | ${r.mode} | ${r.restore.keys} | ${r.restore.mismatches} | ${mb(r.restore.bytes)} | ${r.restore.restoreMBps.toFixed(0)} | ${r.restore.copyMBps.toFixed(0)} |`),
    '',
    '### Per-checkpoint detail',
    '',
  ];
  for (const r of results) {
    if (values['detail-all'] || (r.codec === 'lz4' && r.style === 'leveled') || (r.codec === 'lz4' && r.style === 'universal' && r.mode === 'incremental')) out.push(...intervalTable(r));
  }
  out.push('### Charts', '', '```');
  for (const style of styles) {
    const inc = results.find((r) => r.codec === (codecs.includes('lz4') ? 'lz4' : codecs[0]) && r.style === style && r.mode === 'incremental');
    if (inc) {
      out.push(...uploadChart(inc, results.find((r) => r.codec === inc.codec && r.style === style && r.mode === 'full')), '');
    }
  }
  out.push(...ratioChart(results), '```', '');
  out.push(...modelTable(results));
  const report = out.join('\n');
  console.log(report);

  const dir = join(values.out, `checkpoint-bench-${date.replace(/[:.]/g, '-')}`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'results.json');
  await writeFile(file, JSON.stringify({ date, argv, node: process.version, cpus: cpus().length, totalSec, params, notes, results }, null, 2));
  const charts = await writeCharts(dir, results);
  await writeFile(join(dir, 'report.md'), `${report}\n\n${charts.map((c) => `![${c}](${c})`).join('\n\n')}\n`);
  console.log(`Results in ${dir}: report.md, results.json, ${charts.join(', ')}`);
  return { file, dir, totalSec, results };
}

/**
 * The model S_n = S_{n-1} + ΔS_n - dropped_n: what each incremental checkpoint adds and what it
 * stops referencing (tables compaction replaced), against the changed data at the codec's ratio.
 */
function modelTable(results: ConfigResult[]): string[] {
  const rows: string[] = [
    '### Checkpoint size against the model S_n = S_{n-1} + ΔS_n − dropped_n (incremental runs)',
    '',
    'dropped_n: bytes of tables S_{n-1} referenced that S_n no longer does (replaced by flushes and compaction). ΔS_n / (changed × C) above 1 means compaction made the upload larger than the changed data; intervals above 2 are counted.',
    '',
    '| codec | style | mean ΔS MB | mean dropped MB | mean changed × C MB | intervals with ΔS > 2 × changed × C | worst ΔS / (changed × C) |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of results.filter((x) => x.mode === 'incremental')) {
    const c = 1 / r.initialRatio;
    let dropped = 0;
    let changed = 0;
    let over = 0;
    let worst = 0;
    const n = r.checkpoints.length - 1;
    for (let i = 1; i < r.checkpoints.length; i++) {
      const prev = r.checkpoints[i - 1]!;
      const cur = r.checkpoints[i]!;
      dropped += prev.referencedBytes + cur.uploadedBytes - cur.referencedBytes;
      const expected = cur.changedRawBytes * c;
      changed += expected;
      const factor = expected > 0 ? cur.uploadedBytes / expected : 0;
      if (factor > 2) over++;
      worst = Math.max(worst, factor);
    }
    rows.push(`| ${r.codec} | ${r.style} | ${mb(r.meanUploaded)} | ${mb(dropped / Math.max(1, n))} | ${mb(changed / Math.max(1, n))} | ${over} of ${n} | ${worst.toFixed(2)} |`);
  }
  rows.push('');
  return rows;
}

/** SVG charts: checkpoint size over time (incremental against full) per codec and style, and size/ratio per codec. */
async function writeCharts(dir: string, results: ConfigResult[]): Promise<string[]> {
  const files: string[] = [];
  for (const inc of results.filter((r) => r.mode === 'incremental')) {
    const full = results.find((r) => r.codec === inc.codec && r.style === inc.style && r.mode === 'full');
    const labels = inc.checkpoints.map((c) => String(c.interval));
    const series = [
      { name: 'incremental ΔS (uploaded)', color: '#2b7bba', values: inc.checkpoints.map((c) => c.uploadedBytes / MiB) },
      { name: 'S (referenced)', color: '#9ecae1', values: inc.checkpoints.map((c) => c.referencedBytes / MiB) },
      ...(full ? [{ name: 'full ΔS (uploaded)', color: '#e6550d', values: full.checkpoints.map((c) => c.uploadedBytes / MiB) }] : []),
    ];
    const name = `size-over-time-${inc.codec}-${inc.style}.svg`;
    await writeFile(join(dir, name), barChart(`Checkpoint size per interval: ${inc.codec}, ${inc.style}`, labels, series, 'MiB'));
    files.push(name);
  }
  const incs = results.filter((r) => r.mode === 'incremental');
  const labels = incs.map((r) => `${r.codec}/${r.style}`);
  await writeFile(join(dir, 'codecs-size.svg'), barChart('Size of the state per codec (incremental runs)', labels, [
    { name: 'S_o raw', color: '#bbbbbb', values: incs.map((r) => r.rawBytes / MiB) },
    { name: 'S_c compressed (last checkpoint)', color: '#31a354', values: incs.map((r) => r.compressedBytes / MiB) },
  ], 'MiB'));
  await writeFile(join(dir, 'codecs-ratio.svg'), barChart('Compression ratio per codec', labels, [
    { name: 'C₀ initial (S_o / S)', color: '#756bb1', values: incs.map((r) => r.initialRatio) },
    { name: 'S_o / S_c after the last interval', color: '#bcbddc', values: incs.map((r) => r.ratio) },
  ], 'ratio'));
  files.push('codecs-size.svg', 'codecs-ratio.svg');
  return files;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await main();
  } catch (err) {
    console.error(err instanceof Error ? err.stack ?? err.message : err);
    process.exitCode = 1;
  }
}

