/**
 * Issue #4's checkpoint benchmark: a keyed workload scaled from the classic example of
 * incremental checkpointing (build S_o ≈ 100 MB of raw state, then change ~10% of it per interval
 * and checkpoint after each interval), per codec × compaction style × mode (16 configurations).
 *
 * State looks like a stream processor's keyed state:
 *   user:<id>:profile   {"country":"DE","plan":"pro","lang":"de","signup":"2023-04-12"}
 *   user:<id>:clicks    {"n":1234,"last":1714000000123}
 *   user:<id>:session   {"sid":"s-3f9a01c2","pages":["/home","/cart"],"dur":1234}
 *   agg:<minute window>:country=DE,device=ios,plan=pro   {"count":..,"sum":..,"min":..,"max":..,"hll":"<hex>"}
 * Per interval: ~70% of changed bytes are updates (skewed toward hot keys), ~18% inserts (new
 * users, new windows), ~12% deletes (expired windows, churned users). Seeded PRNG.
 *
 * How it runs (docs/checkpoint-benchmark.md, "How the run is organised"):
 * - The workload is generated once, encoded as write batches, and replayed by every codec × style.
 * - One database per codec × style; at each checkpoint the version is pinned once and BOTH modes
 *   checkpoint that same pin, one after the other, each into its own directory storage (an
 *   incremental and a full Checkpointer on the same database). Every byte reported as uploaded
 *   is a real upload of that mode.
 * - Up to `--jobs` codec × style workloads run at once in worker threads.
 * - Each mode's last checkpoint is restored and compared with the model's final state, key by key
 *   in one sorted pass (mismatches must be 0).
 * - When every workload is done (nothing else running), each last checkpoint is restored again
 *   for timing, alternating with a plain copy of the same files: median MiB/s of several rounds.
 * - After the restore checks, each database is fully compacted (compactRange): S_c, the live data's
 *   size with nothing obsolete left, gives the codec's ratio S_o/S_c and the space amplification
 *   of every checkpoint; the compaction counters up to the last checkpoint show whether
 *   compaction kept up with the writes.
 *
 * Usage: node dist/bench/checkpoint-bench.js [--state-mb 100] [--intervals 10] [--change-pct 10]
 *   [--codecs none,snappy,lz4,zstd] [--modes incremental,full] [--styles leveled,universal]
 *   [--write-buffer-mb N] [--target-file-mb N] [--seed 42] [--out bench-results] [--retain 3]
 *   [--jobs 2] [--restore-rounds 3] [--batch-kb 256] [--verify-keys lz4/leveled|all|none] [--detail-all]
 */
import { constants } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  CheckpointStorage, Checkpointer, Database, WriteBatch, readCheckpointMetadata, restoreCheckpoint,
  type CheckpointMetadata, type CompressionName, type DatabaseOptions, type DatabaseStats, type LiveFiles,
} from '../src/index.js';
import { codecFor, compressionTypeFromName, loadCodecs } from '../src/sstable/compression.js';
import { barChart, lineChart } from './svg-charts.js';
import { fsyncPath } from '../src/checkpoint/directory-storage.js';
import { runPool } from '../src/checkpoint/pool.js';

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

/** Two hex digits per byte value. */
const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Where the model's operations go (the batch encoder). */
interface OpSink {
  put(key: string, value: string): void;
  del(key: string): void;
}

/** The live state (key → value) plus what the workload needs to pick keys. */
class Model {
  /** Live keys and their values in parallel arrays (a delete moves the last entry into the hole), and each key's slot. */
  readonly #keys: string[] = [];
  readonly #vals: string[] = [];
  readonly #slot = new Map<string, number>();
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
    return this.#keys.length;
  }

  /** The live keys (unordered). */
  get keys(): readonly string[] {
    return this.#keys;
  }

  valueOf(key: string): string | undefined {
    const i = this.#slot.get(key);
    return i === undefined ? undefined : this.#vals[i];
  }

  #int(n: number): number {
    return Math.floor(this.#r() * n);
  }
  #pick<T>(a: readonly T[]): T {
    return a[this.#int(a.length)]!;
  }
  #hex(n: number): string {
    let s = '';
    while (s.length < n) {
      const x = (this.#r() * 0x100000000) >>> 0;
      s += HEX2[x >>> 24]! + HEX2[(x >>> 16) & 0xff]! + HEX2[(x >>> 8) & 0xff]! + HEX2[x & 0xff]!;
    }
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

  #set(ops: OpSink, key: string, value: string): number {
    const i = this.#slot.get(key);
    if (i === undefined) {
      this.#slot.set(key, this.#keys.length);
      this.#keys.push(key);
      this.#vals.push(value);
      this.rawBytes += key.length + value.length;
    } else {
      this.rawBytes += value.length - this.#vals[i]!.length;
      this.#vals[i] = value;
    }
    ops.put(key, value);
    return key.length + value.length;
  }

  /** Sets the value of the live key in slot `i`. */
  #update(ops: OpSink, i: number, value: string): number {
    const key = this.#keys[i]!;
    this.rawBytes += value.length - this.#vals[i]!.length;
    this.#vals[i] = value;
    ops.put(key, value);
    return key.length + value.length;
  }

  #del(ops: OpSink, key: string): number {
    const i = this.#slot.get(key);
    if (i === undefined) return 0;
    this.rawBytes -= key.length + this.#vals[i]!.length;
    const lastKey = this.#keys.pop()!;
    const lastVal = this.#vals.pop()!;
    if (lastKey !== key) {
      this.#keys[i] = lastKey;
      this.#vals[i] = lastVal;
      this.#slot.set(lastKey, i);
    }
    this.#slot.delete(key);
    ops.del(key);
    return key.length;
  }

  #insertUser(ops: OpSink): number {
    const id = this.#nextUser++;
    let b = 0;
    for (const f of USER_FIELDS) b += this.#set(ops, this.#userKey(id, f), this.#userValue(f, undefined));
    return b;
  }

  #insertWindow(ops: OpSink): number {
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

  #insert(ops: OpSink): number {
    return this.#r() < 0.75 ? this.#insertUser(ops) : this.#insertWindow(ops);
  }

  /** Initial state of about `bytes` raw bytes. */
  build(bytes: number, ops: OpSink): void {
    while (this.rawBytes < bytes) this.#insert(ops);
  }

  /** One interval: changes about `bytes` raw bytes. Returns the bytes changed. */
  interval(bytes: number, ops: OpSink): number {
    let changed = 0;
    while (changed < bytes) {
      const x = this.#r();
      if (x < 0.7 && this.#keys.length > 0) {
        // update, skewed toward a hot fraction of the keys (r^3 concentrates on the front)
        const i = Math.floor(this.#r() ** 3 * this.#keys.length);
        const key = this.#keys[i]!;
        const prev = this.#vals[i]!;
        const value = key.startsWith('agg:') ? this.#aggValue(prev) : this.#userValue(key.slice(key.lastIndexOf(':') + 1), prev);
        changed += this.#update(ops, i, value);
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
    return changed;
  }
}

// ------------------------------------------------------------------------------------------
// The workload, generated once: write-batch reps in one shared buffer, and the final state, sorted

/**
 * Encodes the model's operations as WriteBatch reps (docs/format/write-batch.md) back to back in
 * one buffer shared with the worker threads, which replay each phase as soon as it is written.
 */
class BatchEncoder implements OpSink {
  readonly buf: Buffer;
  #pos = 0;
  #start = 0;
  #count = 0;
  readonly #batchBytes: number;
  /** [start, end) of every finished batch of the current phase. */
  #ranges: number[] = [];

  constructor(capacity: number, batchBytes: number) {
    this.buf = Buffer.from(new SharedArrayBuffer(capacity));
    this.#batchBytes = batchBytes;
    this.#begin();
  }

  /** Bytes used. */
  get length(): number {
    return this.#start;
  }

  #begin(): void {
    this.#ensure(12);
    this.#start = this.#pos;
    this.buf.fill(0, this.#pos, this.#pos + 12); // sequence 0 (the write path assigns it), count
    this.#pos += 12;
    this.#count = 0;
  }

  #ensure(n: number): void {
    if (this.#pos + n > this.buf.length) throw new Error(`workload larger than its buffer (${this.buf.length} bytes); raise the estimate in batchCapacity()`);
  }

  #varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.#pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.#pos++] = n;
  }

  #str(s: string): void {
    this.#varint(s.length); // ASCII: one byte per character
    this.#pos += this.buf.write(s, this.#pos, 'latin1');
  }

  put(key: string, value: string): void {
    this.#ensure(11 + key.length + value.length);
    this.buf[this.#pos++] = 1; // ValueKind.Value
    this.#str(key);
    this.#str(value);
    this.#added();
  }

  del(key: string): void {
    this.#ensure(6 + key.length);
    this.buf[this.#pos++] = 0; // ValueKind.Deletion
    this.#str(key);
    this.#added();
  }

  #added(): void {
    this.#count++;
    if (this.#pos - this.#start >= this.#batchBytes) this.#cut();
  }

  #cut(): void {
    if (this.#count === 0) return;
    this.buf.writeUInt32LE(this.#count, this.#start + 8);
    this.#ranges.push(this.#start, this.#pos);
    this.#begin();
  }

  /** Ends the current phase: its batches. */
  endPhase(): number[] {
    this.#cut();
    const r = this.#ranges;
    this.#ranges = [];
    return r;
  }
}

/** Room for every batch: the raw bytes written plus per-operation framing, with a wide margin. */
function batchCapacity(stateBytes: number, intervals: number, changePct: number): number {
  return Math.ceil(stateBytes * (1 + (intervals * changePct) / 100) * 1.5) + 16 * MiB;
}

interface PhaseSpec {
  /** [start, end) pairs into the batch buffer. */
  ranges: number[];
  /** Raw bytes (key + value) the phase wrote or deleted (interval 0: the initial state). */
  changedRawBytes: number;
  /** S_o after the phase: live key + value bytes of the model. */
  rawBytes: number;
  ops: number;
}

interface FinalState {
  /** The final state, sorted by key: [u16 key length][key][u32 value length][value]... */
  expected: Uint8Array;
  expectedKeys: number;
  /** Keys the workload deleted (never written again: user ids and windows are not reused). */
  deletedSample: string[];
}

/**
 * The workload as the runs see it: the batch buffer, the phases generated so far (the generator
 * adds them while the first runs replay the early ones) and, at the end, the final state.
 */
class WorkloadFeed {
  readonly batches: Uint8Array;
  readonly phases: PhaseSpec[] = [];
  final: FinalState | undefined;
  #failed: unknown;
  #waiters: (() => void)[] = [];

  constructor(batches: Uint8Array) {
    this.batches = batches;
  }

  addPhase(p: PhaseSpec): void {
    this.phases.push(p);
    this.#wake();
  }

  setFinal(f: FinalState): void {
    this.final = f;
    this.#wake();
  }

  /** The generator failed: every run waiting for a phase fails too. */
  fail(err: unknown): void {
    this.#failed = err ?? new Error('workload generation failed');
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async phase(i: number): Promise<PhaseSpec> {
    while (this.phases.length <= i) await this.#wait();
    return this.phases[i]!;
  }

  async finalState(): Promise<FinalState> {
    while (this.final === undefined) await this.#wait();
    return this.final;
  }

  async #wait(): Promise<void> {
    if (this.#failed !== undefined) throw this.#failed;
    await new Promise<void>((res) => this.#waiters.push(res));
    if (this.#failed !== undefined) throw this.#failed;
  }
}

/**
 * Generates the workload into `feed`, one phase at a time (phase 0: the initial state; then one
 * per interval), calling `published` after each phase and once more after the final state.
 */
async function generateWorkload(
  feed: WorkloadFeed, enc: BatchEncoder, stateBytes: number, intervals: number, changePct: number, seed: number,
  published: (what: { phase: PhaseSpec } | { final: FinalState }) => void,
): Promise<void> {
  const model = new Model(seed);
  let ops = 0;
  let deletes = 0;
  const deletedSample: string[] = [];
  const counting: OpSink = {
    put: (k, v) => {
      ops++;
      enc.put(k, v);
    },
    del: (k) => {
      ops++;
      if (deletes++ % 97 === 0 && deletedSample.length < 1000) deletedSample.push(k);
      enc.del(k);
    },
  };
  const publish = (changedRawBytes: number): void => {
    const phase: PhaseSpec = { ranges: enc.endPhase(), changedRawBytes, rawBytes: model.rawBytes, ops };
    feed.addPhase(phase);
    published({ phase });
  };
  model.build(stateBytes, counting);
  publish(model.rawBytes);
  for (let i = 1; i <= intervals; i++) {
    await tick(); // let this thread's runs (jobs 1: none) and messages move between phases
    ops = 0;
    publish(model.interval((model.rawBytes * changePct) / 100, counting));
  }
  const keys = [...model.keys].sort(); // ASCII keys: UTF-16 order is bytewise order
  const vals = keys.map((k) => model.valueOf(k)!);
  let size = 0;
  for (let i = 0; i < keys.length; i++) size += 6 + keys[i]!.length + vals[i]!.length;
  const expected = Buffer.from(new SharedArrayBuffer(size));
  let pos = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = vals[i]!;
    pos = expected.writeUInt16LE(k.length, pos);
    pos += expected.write(k, pos, 'latin1');
    pos = expected.writeUInt32LE(v.length, pos);
    pos += expected.write(v, pos, 'latin1');
  }
  const final: FinalState = { expected, expectedKeys: keys.length, deletedSample };
  feed.setFinal(final);
  published({ final });
}

/** Compares a database's whole contents with the expected sorted state in one merge pass. */
function verifyAgainst(db: Database, expectedBytes: Uint8Array): { keys: number; mismatches: number } {
  const expected = Buffer.from(expectedBytes.buffer, expectedBytes.byteOffset, expectedBytes.length);
  let pos = 0;
  let keys = 0;
  let mismatches = 0;
  const skip = (p: number): number => {
    const kl = expected.readUInt16LE(p);
    return p + 6 + kl + expected.readUInt32LE(p + 2 + kl);
  };
  const it = db.iterator();
  try {
    for (const [key, value] of it) {
      keys++;
      for (;;) {
        if (pos >= expected.length) {
          mismatches++; // a key the model does not have
          break;
        }
        const kl = expected.readUInt16LE(pos);
        const c = Buffer.compare(expected.subarray(pos + 2, pos + 2 + kl), key);
        if (c < 0) {
          mismatches++; // the restore lacks this key
          pos = skip(pos);
          continue;
        }
        if (c > 0) {
          mismatches++; // a key the model does not have
          break;
        }
        const vl = expected.readUInt32LE(pos + 2 + kl);
        const vs = pos + 6 + kl;
        if (Buffer.compare(expected.subarray(vs, vs + vl), value) !== 0) mismatches++;
        pos = vs + vl;
        break;
      }
    }
  } finally {
    it.close();
  }
  while (pos < expected.length) {
    mismatches++;
    pos = skip(pos);
  }
  return { keys, mismatches };
}

/** The version a checkpoint pinned, as restore must reproduce it. */
interface PinnedVersion {
  lastSequence: number;
  /** `<level>:<number>:<size>:<smallest hex>:<largest hex>`, sorted. */
  files: string[];
}

function describePin(live: Pick<LiveFiles, 'lastSequence' | 'files'>): PinnedVersion {
  const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
  return {
    lastSequence: live.lastSequence,
    files: live.files.map((f) => `${f.level}:${f.meta.number}:${f.meta.size}:${hex(f.meta.smallest)}:${hex(f.meta.largest)}`).sort(),
  };
}

interface RestoreCheck {
  /** Keys compared one by one with the model (0 when only the structural and sampled checks ran). */
  keys: number;
  mismatches: number;
  /** Problems found by the structural and sampled checks (empty: passed). */
  problems: string[];
  sampledGets: number;
}

/**
 * Checks a restored database: it opens; its version is exactly the pinned one (same files at the
 * same levels, sizes and key ranges, same last sequence; restore already checked every file's
 * CRC32C against the metadata); a sample of the model's keys reads back with the model's values
 * and a sample of deleted keys is absent; with `allKeys`, every key is compared with the model.
 */
async function checkRestored(dir: string, options: DatabaseOptions, pin: PinnedVersion, wl: FinalState, allKeys: boolean): Promise<RestoreCheck> {
  const problems: string[] = [];
  const rdb = await Database.open(dir, { ...options, disableAutoCompactions: true });
  try {
    const live = await rdb.pinLiveFiles();
    let got: PinnedVersion;
    try {
      got = describePin(live);
    } finally {
      live.release();
    }
    if (got.lastSequence !== pin.lastSequence) problems.push(`last sequence ${got.lastSequence}, pinned ${pin.lastSequence}`);
    if (got.files.join('\n') !== pin.files.join('\n')) problems.push(`version differs from the pinned one (${got.files.length} files, pinned ${pin.files.length})`);
    const expected = Buffer.from(wl.expected.buffer, wl.expected.byteOffset, wl.expected.length);
    const step = Math.max(1, Math.floor(wl.expectedKeys / 2000));
    let sampledGets = 0;
    for (let pos = 0, i = 0; pos < expected.length; i++) {
      const kl = expected.readUInt16LE(pos);
      const vl = expected.readUInt32LE(pos + 2 + kl);
      if (i % step === 0) {
        sampledGets++;
        const v = rdb.get(expected.subarray(pos + 2, pos + 2 + kl));
        if (v === undefined || Buffer.compare(v, expected.subarray(pos + 6 + kl, pos + 6 + kl + vl)) !== 0) {
          problems.push(`key ${expected.toString('latin1', pos + 2, pos + 2 + kl)} reads back wrong`);
        }
      }
      pos += 6 + kl + vl;
    }
    for (const k of wl.deletedSample) {
      sampledGets++;
      if (rdb.get(Buffer.from(k, 'latin1')) !== undefined) problems.push(`deleted key ${k} is present`);
    }
    const full = allKeys ? verifyAgainst(rdb, wl.expected) : { keys: 0, mismatches: 0 };
    return { keys: full.keys, mismatches: full.mismatches, problems: problems.slice(0, 20), sampledGets };
  } finally {
    await rdb.close();
  }
}

// ------------------------------------------------------------------------------------------
// One codec × style: one database, both modes checkpointing the same pinned versions

interface IntervalRow {
  interval: number;
  rawBytes: number;
  changedRawBytes: number;
  uploadedBytes: number;
  referencedBytes: number;
  /** Bytes of the checkpoint's metadata object (not in uploadedBytes). */
  metadataBytes: number;
  /**
   * Bytes of the live tables of this pin that were not in the previous checkpoint's pin: tables
   * created since the previous completed checkpoint, the physical minimum of an incremental upload.
   */
  newTableBytes: number;
  newFiles: number;
  reusedFiles: number;
  /** Pinning (freeze, wait for the flush) plus this mode's own checkpoint time. */
  durationMs: number;
  /** Pinning alone (shared by both modes). */
  pinMs: number;
  writerBlockedMs: number;
  /** Level-0 tables in the pinned version: flushes compaction had not yet merged down. */
  l0Files: number;
}

interface RestoreTiming {
  bytes: number;
  files: number;
  /** Medians over the rounds, MiB/s. */
  restoreMiBps: number;
  copyMiBps: number;
  copySyncMiBps: number;
  /** CPU time of this process (all threads, user + system) per operation, medians, ms: restore does more work than a copy. */
  cpuMs: { restore: number; copy: number; copySync: number };
  /** Per round: restore, copy, copy + fsync, MiB/s. */
  rounds: { restore: number; copy: number; copySync: number }[];
}

interface ConfigResult {
  codec: CompressionName;
  mode: Mode;
  style: Style;
  /** S_o: the model's live key + value bytes after the last interval. */
  rawBytes: number;
  /**
   * S_c: bytes of the live tables once the state of the last checkpoint is fully compacted
   * (compactRange after it): the live data with no obsolete versions or tombstones left.
   */
  compressedBytes: number;
  /** The codec's ratio: S_o / S_c. */
  ratio: number;
  /**
   * C₀ = S_o / S at the initial checkpoint. The build only inserts, so nothing in S is obsolete,
   * but its tables are flushed or partly compacted rather than bottommost, so C₀ is not quite the
   * codec's ratio.
   */
  initialRatio: number;
  /** S at the last checkpoint / S_c: what the live tables held beyond the fully compacted data. */
  spaceAmp: number;
  /** Space amplification at each checkpoint (index = interval); see spaceAmpAt(). */
  spaceAmpByCheckpoint: number[];
  /** interval 0 is the checkpoint of the initial state; 1..n the intervals. */
  checkpoints: IntervalRow[];
  meanUploaded: number;
  meanReferenced: number;
  totalUploaded: number;
  totalMetadata: number;
  /** Sum over intervals 1..n of newTableBytes: the physical minimum of all incremental uploads. */
  totalNewTables: number;
  checkpointP50Ms: number;
  writerBlockedMaxMs: number;
  restore: {
    /** Keys compared one by one with the model (0: only the structural and sampled checks ran). */
    keys: number;
    mismatches: number;
    /** Structural and sampled checks that failed (checkRestored). */
    problems: string[];
    sampledGets: number;
    bytes: number;
    /** Restore, open and all checks. */
    verifyMs: number;
    timing?: RestoreTiming;
  };
  flushes: number;
  /** The database's compaction counters at the last checkpoint (before the full compaction). */
  compactions: DatabaseStats['compaction'];
  /** Memtable stalls (maxWriteBufferNumber) at the last checkpoint. */
  memtableStalls: DatabaseStats['stalls'];
  keepUp: KeepUp;
  /** Tables per level in the last checkpoint's version (L0 first). */
  levelFiles: number[];
  /** Wall time of the whole codec × style workload (shared by its modes). */
  wallMs: number;
  phaseMs: PhaseMs;
}

/**
 * Where a workload's wall time went: open + Checkpointer.open, waiting for the generator,
 * applying, checkpointing, restore checks, the full compaction after them (it first waits for
 * the compaction still running), close.
 */
interface PhaseMs {
  setup: number;
  wait: number;
  build: number;
  intervals: number;
  checkpoints: number;
  verify: number;
  fullCompaction: number;
  close: number;
}

/**
 * Did compaction keep up with the writes? Derived from the counters at the last checkpoint (the
 * full compaction after it is not counted) and from level-0 counts seen during the run.
 */
interface KeepUp {
  /** Compaction jobs that rewrote tables, and trivial moves (a table moved down a level, no I/O). */
  compactions: number;
  trivialMoves: number;
  bytesRead: number;
  bytesWritten: number;
  /** Wall time of the finished compaction jobs on their threads, summed. */
  jobSeconds: number;
  /** bytesRead / job time: how fast one compaction thread consumes input, MiB/s. */
  inputMiBpsPerThread: number;
  /** Most level-0 tables in any checkpoint's pinned version. */
  maxL0AtCheckpoints: number;
  /** Most level-0 tables seen after any write batch was applied (sampled, so at most the true maximum). */
  maxL0Seen: number;
  /** Time writers were slowed down or stopped (level 0, pending compaction bytes) or stalled on full memtables. */
  stallSeconds: number;
  /** The engine's estimate of the bytes compactions still had to write at the last checkpoint (leveled only; universal reports none). */
  pendingBytes: number;
}

interface WorkloadParams {
  intervals: number;
  retain: number;
  modes: Mode[];
  dbOptions: DatabaseOptions;
}

const tick = (): Promise<void> => new Promise((res) => setImmediate(res));

const level0Files = (db: Database): number => db.stats().levels[0]?.files ?? 0;

/**
 * Replays a phase's batches. Returns the most level-0 tables seen after any batch: how far flushes
 * ran ahead of compaction between checkpoints (one stats() read per ~256 KiB batch is cheap).
 */
async function applyPhase(db: Database, batches: Uint8Array, ranges: number[]): Promise<number> {
  let maxL0 = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    db.write(WriteBatch.fromRep(batches.subarray(ranges[i]!, ranges[i + 1]!)));
    await tick(); // let flush and compaction results in
    maxL0 = Math.max(maxL0, level0Files(db));
  }
  return maxL0;
}

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)]!;
}

/**
 * The Database a Checkpointer sees: the real one, except that pinLiveFiles() hands out the pin
 * the benchmark took for this checkpoint, so both modes checkpoint exactly the same version.
 */
function sharedPinView(db: Database, current: () => LiveFiles): Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'pinLiveFiles') {
        return async (): Promise<LiveFiles> => ({ ...current(), release: () => undefined }); // the benchmark releases it
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

interface WorkloadOutput {
  results: ConfigResult[];
  /** Directory storage per mode, kept for the restore timing at the end. */
  storeDirs: Partial<Record<Mode, string>>;
}

/**
 * Both modes' last checkpoints pinned the same version: the same tables (local name, level, size,
 * key range) with the same CRC32C, although the incremental one computed most CRCs checkpoints
 * earlier and the full one computed all of them now.
 */
function crossCheckModes(metas: Map<Mode, CheckpointMetadata>): string[] {
  const [a, b] = [...metas.values()];
  if (a === undefined || b === undefined) return [];
  const desc = (m: CheckpointMetadata): string => m.files.map((f) => `${f.localName}:${f.level}:${f.size}:${f.crc32c}:${f.smallest}:${f.largest}`).sort().join('\n');
  const problems: string[] = [];
  if (a.lastSequence !== b.lastSequence) problems.push(`${a.mode} and ${b.mode} last checkpoints have different last sequences`);
  if (desc(a) !== desc(b)) problems.push(`${a.mode} and ${b.mode} last checkpoints list different tables or checksums`);
  return problems;
}

/** One codec × style to run; `keyModes`: modes whose restore is also compared with the model key by key. */
interface WorkloadSpec {
  codec: CompressionName;
  style: Style;
  keyModes: Mode[];
}

async function runWorkload(spec: WorkloadSpec, wl: WorkloadFeed, p: WorkloadParams): Promise<WorkloadOutput> {
  const { codec, style } = spec;
  const t0 = performance.now();
  const dbDir = await mkdtemp(join(tmpdir(), 'ckbench-db-'));
  const verifyDir = await mkdtemp(join(tmpdir(), 'ckbench-verify-'));
  const storeDirs: Partial<Record<Mode, string>> = {};
  for (const m of p.modes) storeDirs[m] = await mkdtemp(join(tmpdir(), `ckbench-store-${m}-`));
  const options: DatabaseOptions = { ...p.dbOptions, compression: codec, compactionStyle: style };
  let ok = false;
  let db: Database | undefined;
  let closing: Promise<void> | undefined;
  try {
    const source = await Database.open(dbDir, options);
    db = source;
    let pinned: LiveFiles | undefined;
    const view = sharedPinView(source, () => {
      if (pinned === undefined) throw new Error('checkpoint outside the benchmark pin');
      return pinned;
    });
    const cps = new Map<Mode, Checkpointer>();
    for (const m of p.modes) cps.set(m, await Checkpointer.open(view, CheckpointStorage.directory(storeDirs[m]!), { mode: m, retain: p.retain }));
    const rows = new Map<Mode, IntervalRow[]>(p.modes.map((m) => [m, []]));
    let prevNumbers = new Set<number>();
    let lastPin: PinnedVersion | undefined;
    let lastLevels: number[] = [];
    let maxL0Seen = 0;
    const phaseMs: PhaseMs = { setup: performance.now() - t0, wait: 0, build: 0, intervals: 0, checkpoints: 0, verify: 0, fullCompaction: 0, close: 0 };

    const checkpointAll = async (interval: number, phase: PhaseSpec): Promise<void> => {
      const c0 = performance.now();
      const live = await source.pinLiveFiles();
      const pinMs = performance.now() - c0;
      const numbers = new Set<number>();
      let newTableBytes = 0;
      for (const f of live.files) {
        numbers.add(f.meta.number);
        if (!prevNumbers.has(f.meta.number)) newTableBytes += f.meta.size;
      }
      pinned = live;
      lastPin = describePin(live);
      lastLevels = [];
      for (const f of live.files) lastLevels[f.level] = (lastLevels[f.level] ?? 0) + 1;
      const l0Files = lastLevels[0] ?? 0;
      try {
        for (const m of p.modes) {
          const r = await cps.get(m)!.checkpoint();
          rows.get(m)!.push({
            interval, rawBytes: phase.rawBytes, changedRawBytes: phase.changedRawBytes, uploadedBytes: r.uploadedBytes,
            referencedBytes: r.referencedBytes, metadataBytes: r.metadataBytes, newTableBytes, newFiles: r.newFiles, reusedFiles: r.reusedFiles,
            durationMs: pinMs + r.durationMs, pinMs, writerBlockedMs: live.writerBlockedMs, l0Files,
          });
        }
      } finally {
        pinned = undefined;
        live.release();
      }
      prevNumbers = numbers;
      phaseMs.checkpoints += performance.now() - c0;
    };

    for (let i = 0; i <= p.intervals; i++) {
      const w0 = performance.now();
      const phase = await wl.phase(i); // the generator may still be writing it
      const a0 = performance.now();
      phaseMs.wait += a0 - w0;
      maxL0Seen = Math.max(maxL0Seen, await applyPhase(source, wl.batches, phase.ranges));
      if (i === 0) phaseMs.build = performance.now() - a0;
      else phaseMs.intervals += performance.now() - a0;
      await checkpointAll(i, phase);
    }
    // Counters as of the last checkpoint: whether compaction kept up with the workload, without
    // the full compaction below.
    const stats = source.stats();

    // The restores read only the storages: the compaction still running goes on meanwhile.
    const restores = await checkRestores(spec, storeDirs, verifyDir, options, lastPin!, await wl.finalState(), p.modes);
    for (const r of restores.values()) phaseMs.verify += r.verifyMs;

    // S_c: the last checkpoint's state fully compacted (no writes came after it). The checkpoints
    // already taken keep their tables, so this changes nothing the restores checked.
    const f0 = performance.now();
    await source.compactRange();
    const compactedBytes = source.stats().levels.reduce((a, l) => a + l.bytes, 0);
    phaseMs.fullCompaction = performance.now() - f0;
    const z0 = performance.now();
    closing = source.close();
    await closing;
    phaseMs.close = performance.now() - z0;

    const modeRows = p.modes.map((m) => rows.get(m)!);
    const facts: WorkloadFacts = {
      stats, compactedBytes, phaseMs, wallMs: performance.now() - t0,
      keepUp: keepUpOf(stats, modeRows[0] ?? [], maxL0Seen),
      levelFiles: Array.from(lastLevels, (n) => n ?? 0),
    };
    const results = p.modes.map((m, i) => configResult(spec, m, modeRows[i]!, restores.get(m)!, facts));
    ok = true;
    return { results, storeDirs };
  } finally {
    if (db !== undefined && closing === undefined) closing = db.close();
    await closing?.catch(() => undefined);
    await rm(dbDir, { recursive: true, force: true });
    await rm(verifyDir, { recursive: true, force: true });
    if (!ok) for (const d of Object.values(storeDirs)) await rm(d, { recursive: true, force: true });
  }
}

/**
 * Restores each mode's last checkpoint and checks it against the pinned version and the model
 * (and the two modes' last checkpoints against each other).
 */
async function checkRestores(
  spec: WorkloadSpec, storeDirs: Partial<Record<Mode, string>>, verifyDir: string, options: DatabaseOptions,
  pin: PinnedVersion, final: FinalState, modes: Mode[],
): Promise<Map<Mode, ConfigResult['restore']>> {
  const metas = new Map<Mode, CheckpointMetadata>();
  for (const m of modes) metas.set(m, await readCheckpointMetadata(CheckpointStorage.directory(storeDirs[m]!), 'latest'));
  const crossProblems = crossCheckModes(metas);
  const out = new Map<Mode, ConfigResult['restore']>();
  for (const m of modes) {
    const v0 = performance.now();
    const target = join(verifyDir, m);
    const rs = await restoreCheckpoint(CheckpointStorage.directory(storeDirs[m]!), 'latest', target);
    const check = await checkRestored(target, options, pin, final, spec.keyModes.includes(m));
    check.problems.push(...crossProblems);
    await rm(target, { recursive: true, force: true });
    out.set(m, { keys: check.keys, mismatches: check.mismatches, problems: check.problems, sampledGets: check.sampledGets, bytes: rs.bytes, verifyMs: performance.now() - v0 });
  }
  return out;
}

/** What one codec × style workload measured, shared by the results of its modes. */
interface WorkloadFacts {
  /** At the last checkpoint. */
  stats: DatabaseStats;
  /** Live table bytes after the full compaction: S_c. */
  compactedBytes: number;
  keepUp: KeepUp;
  levelFiles: number[];
  phaseMs: PhaseMs;
  wallMs: number;
}

/**
 * Space amplification at a checkpoint: its live table bytes S over what its state would take
 * fully compacted. Only the last checkpoint's state was compacted (S_c, where this is exactly
 * S / S_c); for the earlier ones the compacted size is their raw state at the codec's ratio,
 * S_o,n / ratio, because S_o drifts over the intervals (deletes outweigh inserts).
 */
function spaceAmpAt(c: IntervalRow, ratio: number): number {
  return c.referencedBytes / Math.max(1, c.rawBytes / ratio);
}

/** `rows`: one mode's checkpoints (the L0 counts are the pins', the same for every mode). */
function keepUpOf(stats: DatabaseStats, rows: IntervalRow[], maxL0Sampled: number): KeepUp {
  const c = stats.compaction;
  const maxL0AtCheckpoints = Math.max(0, ...rows.map((r) => r.l0Files));
  return {
    compactions: c.count,
    trivialMoves: c.trivialMoves,
    bytesRead: c.bytesRead,
    bytesWritten: c.bytesWritten,
    jobSeconds: c.jobMicros / 1e6,
    inputMiBpsPerThread: c.jobMicros > 0 ? c.bytesRead / MiB / (c.jobMicros / 1e6) : 0,
    maxL0AtCheckpoints,
    maxL0Seen: Math.max(maxL0Sampled, maxL0AtCheckpoints), // the pins saw level 0 too
    stallSeconds: (c.slowdownMicros + c.stopMicros + stats.stalls.micros) / 1e6,
    pendingBytes: c.pendingBytes,
  };
}

function configResult(spec: WorkloadSpec, mode: Mode, cps: IntervalRow[], restore: ConfigResult['restore'], w: WorkloadFacts): ConfigResult {
  const last = cps[cps.length - 1]!;
  const ivs = cps.slice(1);
  const totalUploaded = ivs.reduce((a, r) => a + r.uploadedBytes, 0);
  const ratio = last.rawBytes / Math.max(1, w.compactedBytes);
  return {
    codec: spec.codec, mode, style: spec.style,
    rawBytes: last.rawBytes,
    compressedBytes: w.compactedBytes,
    ratio,
    initialRatio: cps[0]!.rawBytes / Math.max(1, cps[0]!.referencedBytes),
    spaceAmp: spaceAmpAt(last, ratio),
    spaceAmpByCheckpoint: cps.map((c) => spaceAmpAt(c, ratio)),
    checkpoints: cps,
    meanUploaded: totalUploaded / Math.max(1, ivs.length),
    meanReferenced: ivs.reduce((a, r) => a + r.referencedBytes, 0) / Math.max(1, ivs.length),
    totalUploaded,
    totalMetadata: ivs.reduce((a, r) => a + r.metadataBytes, 0),
    totalNewTables: ivs.reduce((a, r) => a + r.newTableBytes, 0),
    checkpointP50Ms: p50(ivs.map((r) => r.durationMs)),
    writerBlockedMaxMs: Math.max(0, ...cps.map((r) => r.writerBlockedMs)),
    restore,
    flushes: w.stats.flush.count,
    compactions: w.stats.compaction,
    memtableStalls: w.stats.stalls,
    keepUp: w.keepUp,
    levelFiles: w.levelFiles,
    wallMs: w.wallMs,
    phaseMs: w.phaseMs,
  };
}

// ------------------------------------------------------------------------------------------
// Restore against a plain copy of the same files, timed with nothing else running


/**
 * Restore of the latest checkpoint in `storeDir` against two copies of the same files into an
 * empty directory: a plain copy (fs.copyFile per file, 4 at a time, no fsync: what `cp` does) and
 * the same copy followed by an fsync of every file and the directory (the durability restore
 * gives). The three alternate, rotating which goes first, over `rounds` rounds; the sources are
 * in the page cache for all of them (written moments before, read by every round).
 */
async function timeRestore(storeDir: string, rounds: number): Promise<RestoreTiming> {
  const storage = CheckpointStorage.directory(storeDir);
  const meta: CheckpointMetadata = await readCheckpointMetadata(storage, 'latest');
  const bytes = meta.files.reduce((a, f) => a + f.size, 0);
  const work = await mkdtemp(join(tmpdir(), 'ckbench-restore-'));
  const src = (storageName: string): string => join(storeDir, ...storageName.split('/'));
  const kinds = ['restore', 'copy', 'copySync'] as const;
  const out: RestoreTiming['rounds'] = [];
  const cpu: RestoreTiming['rounds'] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const row = { restore: 0, copy: 0, copySync: 0 };
      const cpuRow = { restore: 0, copy: 0, copySync: 0 };
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(k + round) % kinds.length]!;
        const dir = join(work, `${round}-${kind}`);
        const c0 = process.cpuUsage();
        const t = performance.now();
        if (kind === 'restore') {
          await restoreCheckpoint(storage, 'latest', dir);
        } else {
          await mkdir(dir);
          await runPool(meta.files, 4, (f) => copyFile(src(f.storageName), join(dir, f.localName)));
          if (kind === 'copySync') {
            await runPool(meta.files, 4, (f) => fsyncPath(join(dir, f.localName), constants.O_RDWR));
            await fsyncPath(dir, constants.O_RDONLY);
          }
        }
        row[kind] = bytes / MiB / Math.max(1e-6, (performance.now() - t) / 1000);
        const c = process.cpuUsage(c0);
        cpuRow[kind] = (c.user + c.system) / 1000;
        await rm(dir, { recursive: true, force: true });
      }
      out.push(row);
      cpu.push(cpuRow);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const med = (k: keyof RestoreTiming['rounds'][number]): number => median(out.map((r) => r[k]));
  const cpuMed = (k: keyof RestoreTiming['rounds'][number]): number => median(cpu.map((r) => r[k]));
  return {
    bytes, files: meta.files.length, restoreMiBps: med('restore'), copyMiBps: med('copy'), copySyncMiBps: med('copySync'),
    cpuMs: { restore: cpuMed('restore'), copy: cpuMed('copy'), copySync: cpuMed('copySync') }, rounds: out,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ------------------------------------------------------------------------------------------
// Report

const mb = (b: number): string => (b / MiB).toFixed(2);
const ms = (x: number): string => x.toFixed(x < 10 ? 2 : 0);

function bar(value: number, max: number, width: number, ch = '█'): string {
  const n = max <= 0 ? 0 : Math.round((value / max) * width);
  return ch.repeat(Math.max(0, n)).padEnd(width, ' ');
}

function checkFailed(r: ConfigResult): boolean {
  return r.restore.mismatches > 0 || r.restore.problems.length > 0;
}

/** What the restore check of one configuration did and found. */
function checkText(r: ConfigResult): string {
  if (checkFailed(r)) return `**failed: ${r.restore.mismatches} key mismatches; ${r.restore.problems.join('; ') || 'no other problem'}**`;
  return r.restore.keys > 0 ? `ok: version, ${r.restore.sampledGets} gets, all ${r.restore.keys} keys` : `ok: version, ${r.restore.sampledGets} gets`;
}

/** S at the last checkpoint: its live table bytes. */
const lastS = (r: ConfigResult): number => r.checkpoints[r.checkpoints.length - 1]?.referencedBytes ?? 0;

/** One result per codec × style (the first mode's): what the workload's modes share. */
function perWorkload(results: ConfigResult[]): ConfigResult[] {
  return results.filter((x, i, all) => all.findIndex((y) => y.codec === x.codec && y.style === x.style) === i);
}

function summaryTable(results: ConfigResult[]): string[] {
  const lines = [
    '| codec | style | mode | S_o raw MiB | S_c fully compacted MiB | ratio S_o/S_c | C₀ initial S_o/S | S last checkpoint MiB | space amp S/S_c | mean ΔS MiB | mean S MiB | ΔS/S | total uploaded MiB | ckpt p50 ms | writer blocked max ms | restore check |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    lines.push(`| ${r.codec} | ${r.style} | ${r.mode} | ${mb(r.rawBytes)} | ${mb(r.compressedBytes)} | ${r.ratio.toFixed(2)} | ${r.initialRatio.toFixed(2)} | ${mb(lastS(r))} | ${r.spaceAmp.toFixed(2)} | ${mb(r.meanUploaded)} | ${mb(r.meanReferenced)} | ${(r.meanUploaded / Math.max(1, r.meanReferenced)).toFixed(3)} | ${mb(r.totalUploaded)} | ${ms(r.checkpointP50Ms)} | ${ms(r.writerBlockedMaxMs)} | ${checkText(r)} |`);
  }
  return lines;
}

function pairTable(results: ConfigResult[]): string[] {
  const lines = [
    '| codec | style | total uploaded incremental MiB | total uploaded full MiB | incremental / full | changed raw MiB (all intervals) | changed raw × C MiB | incremental / (changed × C) |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const inc of results.filter((r) => r.mode === 'incremental')) {
    const full = results.find((r) => r.mode === 'full' && r.codec === inc.codec && r.style === inc.style);
    const changed = inc.checkpoints.slice(1).reduce((a, r) => a + r.changedRawBytes, 0);
    const changedC = changed / inc.ratio;
    lines.push(`| ${inc.codec} | ${inc.style} | ${mb(inc.totalUploaded)} | ${full ? mb(full.totalUploaded) : '-'} | ${full ? (inc.totalUploaded / full.totalUploaded).toFixed(3) : '-'} | ${mb(changed)} | ${mb(changedC)} | ${(inc.totalUploaded / Math.max(1, changedC)).toFixed(2)} |`);
  }
  return lines;
}

function intervalTable(r: ConfigResult): string[] {
  const inc = r.mode === 'incremental';
  const lines = [
    `#### ${r.codec} / ${r.style} / ${r.mode}`,
    '',
    `| interval | S_o raw MiB | changed raw MiB | ΔS uploaded MiB | S referenced MiB | space amp | L0 tables | ΔS/S | new tables since previous MiB | ${inc ? 'ΔS / new tables | ' : ''}metadata KiB | new files | reused files | duration ms | writer blocked ms |`,
    `|---:|---:|---:|---:|---:|---:|---:|---:|---:|${inc ? '---:|' : ''}---:|---:|---:|---:|---:|`,
  ];
  r.checkpoints.forEach((c, i) => {
    const ratio = inc ? ` ${(c.uploadedBytes / Math.max(1, c.newTableBytes)).toFixed(3)} |` : '';
    const amp = r.spaceAmpByCheckpoint[i]?.toFixed(2) ?? '-';
    lines.push(`| ${c.interval === 0 ? '0 (initial)' : c.interval} | ${mb(c.rawBytes)} | ${mb(c.changedRawBytes)} | ${mb(c.uploadedBytes)} | ${mb(c.referencedBytes)} | ${amp} | ${c.l0Files} | ${(c.uploadedBytes / Math.max(1, c.referencedBytes)).toFixed(3)} | ${mb(c.newTableBytes)} |${ratio} ${(c.metadataBytes / 1024).toFixed(1)} | ${c.newFiles} | ${c.reusedFiles} | ${ms(c.durationMs)} | ${ms(c.writerBlockedMs)} |`);
  });
  lines.push('');
  return lines;
}

/** Incremental uploads against the physical minimum: the tables created since the previous checkpoint. */
function minimumTable(results: ConfigResult[]): string[] {
  const lines = [
    '| codec | style | new tables since previous, sum MiB | ΔS uploaded, sum MiB | metadata, sum KiB | ΔS / new tables | (ΔS + metadata) / new tables | worst checkpoint ΔS / new tables | checkpoints above 1.05 |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results.filter((x) => x.mode === 'incremental')) {
    const ivs = r.checkpoints.slice(1);
    const worst = Math.max(0, ...ivs.map((c) => c.uploadedBytes / Math.max(1, c.newTableBytes)));
    const over = ivs.filter((c) => c.uploadedBytes > 1.05 * c.newTableBytes).length;
    lines.push(`| ${r.codec} | ${r.style} | ${mb(r.totalNewTables)} | ${mb(r.totalUploaded)} | ${(r.totalMetadata / 1024).toFixed(1)} | ${(r.totalUploaded / Math.max(1, r.totalNewTables)).toFixed(3)} | ${((r.totalUploaded + r.totalMetadata) / Math.max(1, r.totalNewTables)).toFixed(3)} | ${worst.toFixed(3)} | ${over} of ${ivs.length} |`);
  }
  return lines;
}

function restoreTable(results: ConfigResult[]): string[] {
  const lines = [
    '| codec | style | mode | files | MiB | restore MiB/s | plain copy MiB/s | copy + fsync MiB/s | restore / copy | restore / (copy + fsync) | CPU ms restore / copy / copy + fsync | restore check | restore + check ms |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const r of results) {
    const t = r.restore.timing;
    const cols = t === undefined
      ? '- | - | - | - | - | - | - | - |'
      : `${t.files} | ${mb(t.bytes)} | ${t.restoreMiBps.toFixed(0)} | ${t.copyMiBps.toFixed(0)} | ${t.copySyncMiBps.toFixed(0)} | ${(t.restoreMiBps / t.copyMiBps).toFixed(2)} | ${(t.restoreMiBps / t.copySyncMiBps).toFixed(2)} | ${t.cpuMs.restore.toFixed(0)} / ${t.cpuMs.copy.toFixed(0)} / ${t.cpuMs.copySync.toFixed(0)} |`;
    lines.push(`| ${r.codec} | ${r.style} | ${r.mode} | ${cols} ${checkText(r)} | ${r.restore.verifyMs.toFixed(0)} |`);
  }
  return lines;
}

const sec = (millis: number): string => (millis / 1000).toFixed(1);

function phaseTable(results: ConfigResult[]): string[] {
  const lines = [
    '| codec | style | open s | waiting for the generator s | build (apply) s | intervals (apply) s | checkpoints, both modes s | restore + checks, both modes s | full compaction (after the checks) s | close s | workload wall s |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of perWorkload(results)) {
    const ph = r.phaseMs;
    lines.push(`| ${r.codec} | ${r.style} | ${sec(ph.setup)} | ${sec(ph.wait)} | ${sec(ph.build)} | ${sec(ph.intervals)} | ${sec(ph.checkpoints)} | ${sec(ph.verify)} | ${sec(ph.fullCompaction)} | ${sec(ph.close)} | ${sec(r.wallMs)} |`);
  }
  return lines;
}

/** Compaction's work and backlog per codec × style, up to the last checkpoint. */
function keepUpTable(results: ConfigResult[]): string[] {
  const lines = [
    '| codec | style | flushes | compactions | trivial moves | compaction read MiB | compaction written MiB | compaction job s | input MiB/s per thread | L0 tables at checkpoints, max | L0 tables seen, max | stall s (count: slowed writes / stops / memtable stalls) | pending compaction at the last checkpoint MiB | full compaction after it s | tables per level at the last checkpoint |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of perWorkload(results)) {
    const k = r.keepUp;
    const stalls = `${k.stallSeconds.toFixed(1)} (${r.compactions.slowdownWrites} / ${r.compactions.stops} / ${r.memtableStalls.count})`;
    const pending = r.style === 'leveled' ? mb(k.pendingBytes) : '-'; // universal does not estimate it
    const levels = r.levelFiles.map((n, i) => `L${i}:${n}`).filter((x) => !x.endsWith(':0')).join(' ');
    lines.push(`| ${r.codec} | ${r.style} | ${r.flushes} | ${k.compactions} | ${k.trivialMoves} | ${mb(k.bytesRead)} | ${mb(k.bytesWritten)} | ${k.jobSeconds.toFixed(1)} | ${k.inputMiBpsPerThread.toFixed(1)} | ${k.maxL0AtCheckpoints} | ${k.maxL0Seen} | ${stalls} | ${pending} | ${sec(r.phaseMs.fullCompaction)} | ${levels} |`);
  }
  return lines;
}

function uploadChart(inc: ConfigResult, full: ConfigResult | undefined): string[] {
  const rows = inc.checkpoints.slice(1);
  const max = Math.max(...rows.map((r) => r.referencedBytes), ...(full?.checkpoints.slice(1).map((r) => r.uploadedBytes) ?? []));
  const lines = [`ΔS uploaded per interval, ${inc.codec} / ${inc.style} (█ incremental ΔS, ▒ full ΔS (= S), scale: ${mb(max)} MiB)`];
  for (const r of rows) {
    const f = full?.checkpoints[r.interval];
    lines.push(`  #${String(r.interval).padStart(2)} inc  |${bar(r.uploadedBytes, max, 50)}| ${mb(r.uploadedBytes).padStart(8)} MiB`);
    if (f) lines.push(`      full |${bar(f.uploadedBytes, max, 50, '▒')}| ${mb(f.uploadedBytes).padStart(8)} MiB`);
  }
  return lines;
}

function ratioChart(results: ConfigResult[]): string[] {
  const rs = results.filter((r) => r.mode === 'incremental');
  const max = Math.max(...rs.map((r) => r.ratio), ...rs.map((r) => r.initialRatio));
  const lines = [`compression ratio per codec (incremental runs; █ C₀ = S_o/S at the initial checkpoint, ▒ codec ratio S_o/S_c, S_c = fully compacted after the last checkpoint; scale ${max.toFixed(2)}x)`];
  for (const r of rs) {
    lines.push(`  ${`${r.codec}/${r.style}`.padEnd(17)} |${bar(r.initialRatio, max, 40)}| ${r.initialRatio.toFixed(2)}x  S ${mb(r.checkpoints[0]!.referencedBytes)} MiB`);
    lines.push(`  ${''.padEnd(17)} |${bar(r.ratio, max, 40, '▒')}| ${r.ratio.toFixed(2)}x  S_c ${mb(r.compressedBytes)} MiB`);
  }
  return lines;
}

const SPARK = '▁▂▃▄▅▆▇█';

/** Space amplification over the checkpoints, one sparkline per codec × style (the modes share it). */
function spaceAmpChart(results: ConfigResult[]): string[] {
  const ws = perWorkload(results);
  const max = Math.max(1, ...ws.flatMap((r) => r.spaceAmpByCheckpoint));
  const span = max > 1 ? max - 1 : 1;
  const lines = [`space amplification per checkpoint (S / fully compacted size; one column per checkpoint from 0, ▁ = 1.00 or less, █ = ${max.toFixed(2)})`];
  for (const r of ws) {
    const cells = r.spaceAmpByCheckpoint.map((a) => SPARK[Math.round((Math.min(Math.max(a - 1, 0), span) / span) * (SPARK.length - 1))]!).join('');
    lines.push(`  ${`${r.codec}/${r.style}`.padEnd(17)} |${cells}| last ${r.spaceAmp.toFixed(2)}, max ${Math.max(...r.spaceAmpByCheckpoint).toFixed(2)}`);
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

interface WorkerInit {
  ckbench: true;
  /** The batch buffer (a SharedArrayBuffer: shared, not copied). */
  batches: Uint8Array;
  params: WorkloadParams;
}

type ToWorker = { run: WorkloadSpec } | { phase: PhaseSpec } | { final: FinalState };
type WorkerReply = { ok: WorkloadOutput } | { error: string };

interface Runs {
  /** Hands a generated phase or the final state to the runs. */
  publish(what: { phase: PhaseSpec } | { final: FinalState }): void;
  finished: Promise<WorkloadOutput[]>;
}

/**
 * Starts the codec × style workloads, up to `jobs` at once in worker threads (in this thread when
 * jobs is 1). They start at once and replay each phase as soon as the generator publishes it.
 */
function startRuns(
  configs: WorkloadSpec[], feed: WorkloadFeed, params: WorkloadParams, jobs: number, done: (c: WorkloadSpec, out: WorkloadOutput) => void,
): Runs {
  const outs: WorkloadOutput[] = new Array<WorkloadOutput>(configs.length);
  let next = 0;
  if (jobs <= 1) {
    const finished = (async () => {
      for (const c of configs) {
        const out = await runWorkload(c, feed, params);
        outs[next++] = out;
        done(c, out);
      }
      return outs;
    })();
    return { publish: () => undefined, finished };
  }
  const init: WorkerInit = { ckbench: true, batches: feed.batches, params };
  const workers = Array.from({ length: Math.min(jobs, configs.length) }, () => new Worker(new URL(import.meta.url), { workerData: init }));
  const lane = async (worker: Worker): Promise<void> => {
    try {
      while (next < configs.length) {
        const i = next++;
        const c = configs[i]!;
        const reply = await new Promise<WorkerReply>((resolve, reject) => {
          const onMessage = (m: WorkerReply): void => {
            worker.off('error', onError);
            resolve(m);
          };
          const onError = (err: Error): void => {
            worker.off('message', onMessage);
            reject(err);
          };
          worker.once('message', onMessage);
          worker.once('error', onError);
          worker.postMessage({ run: c } satisfies ToWorker);
        });
        if ('error' in reply) throw new Error(`${c.codec} / ${c.style}: ${reply.error}`);
        outs[i] = reply.ok;
        done(c, reply.ok);
      }
    } finally {
      await worker.terminate();
    }
  };
  const finished = Promise.all(workers.map(lane)).then(() => outs);
  finished.catch(() => Promise.all(workers.map((w) => w.terminate()))); // one lane failed: stop the others
  return {
    publish: (what) => {
      for (const w of workers) w.postMessage(what satisfies ToWorker);
    },
    finished,
  };
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<unknown> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'state-mb': { type: 'string', default: '100' },
      intervals: { type: 'string', default: '10' },
      'change-pct': { type: 'string', default: '10' },
      codecs: { type: 'string', default: ALL_CODECS.join(',') },
      modes: { type: 'string', default: ALL_MODES.join(',') },
      styles: { type: 'string', default: ALL_STYLES.join(',') },
      'write-buffer-mb': { type: 'string' },
      'target-file-mb': { type: 'string' },
      seed: { type: 'string', default: '42' },
      retain: { type: 'string', default: '3' },
      jobs: { type: 'string', default: '2' },
      'restore-rounds': { type: 'string', default: '3' },
      'batch-kb': { type: 'string', default: '256' },
      'verify-keys': { type: 'string', default: 'lz4/leveled' },
      out: { type: 'string', default: 'bench-results' },
      'detail-all': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: checkpoint-bench [--state-mb 100] [--intervals 10] [--change-pct 10] [--codecs none,snappy,lz4,zstd] [--modes incremental,full] [--styles leveled,universal] [--write-buffer-mb N] [--target-file-mb N] [--seed 42] [--retain 3] [--jobs 2] [--restore-rounds 3] [--batch-kb 256] [--verify-keys lz4/leveled|all|none] [--out bench-results] [--detail-all]');
    return undefined;
  }
  const stateMb = Number(values['state-mb']);
  const intervals = Number(values.intervals);
  const changePct = Number(values['change-pct']);
  const jobs = Number(values.jobs);
  const restoreRounds = Number(values['restore-rounds']);
  const batchKb = Number(values['batch-kb']);
  if (!(stateMb > 0) || !Number.isInteger(intervals) || intervals < 1 || !(changePct > 0)) {
    throw Object.assign(new Error('--state-mb, --intervals and --change-pct must be positive'), { name: 'UsageError' });
  }
  if (!Number.isInteger(jobs) || jobs < 1 || !Number.isInteger(restoreRounds) || restoreRounds < 0 || !(batchKb > 0)) {
    throw Object.assign(new Error('--jobs must be an integer >= 1, --restore-rounds >= 0, --batch-kb > 0'), { name: 'UsageError' });
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
  const seed = Number(values.seed);
  const retain = Number(values.retain);
  const params = { stateBytes: stateMb * 1e6, intervals, changePct, seed, retain, jobs, restoreRounds, batchBytes: batchKb * 1024, dbOptions };

  // Every restore gets the structural and sampled checks (checkRestored); the key-by-key
  // comparison (a full scan: seconds per restore at this size) runs for every restore ('all'),
  // none, or the first mode's restore of the listed codec/style pairs.
  const verifyKeys = values['verify-keys'].trim();
  const keyPairs = verifyKeys === 'all' || verifyKeys === 'none' ? [] : verifyKeys.split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const pair of keyPairs) {
    const [c, st] = pair.split('/');
    if (!ALL_CODECS.includes(c as CompressionName) || !ALL_STYLES.includes(st as Style)) {
      throw Object.assign(new Error(`--verify-keys: all, none, or codec/style pairs like lz4/leveled (got ${JSON.stringify(pair)})`), { name: 'UsageError' });
    }
  }
  const configs: WorkloadSpec[] = codecs.flatMap((codec) => styles.map((style) => ({
    codec, style,
    keyModes: verifyKeys === 'all' ? modes : keyPairs.includes(`${codec}/${style}`) ? modes.slice(0, 1) : [],
  })));
  const wparams: WorkloadParams = { intervals, retain, modes, dbOptions };

  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const load0 = loadavg()[0]!;
  const enc = new BatchEncoder(batchCapacity(params.stateBytes, intervals, changePct), params.batchBytes);
  const feed = new WorkloadFeed(enc.buf);
  const runs = startRuns(configs, feed, wparams, jobs, (c, out) => {
    const r = out.results[0]!;
    process.stderr.write(`checkpoint bench: ${c.codec} / ${c.style} (${modes.join(' + ')}) ${(r.wallMs / 1000).toFixed(1)} s, restore checks ${out.results.map((x) => (checkFailed(x) ? 'FAILED' : 'ok')).join('/')}\n`);
  });
  process.stderr.write(`checkpoint bench: ${configs.length} codec × style workloads, ${jobs} at a time, replaying a workload generated while they run (${stateMb} MB, ${intervals} intervals × ${changePct}%)\n`);
  let genMs = 0;
  try {
    await generateWorkload(feed, enc, params.stateBytes, intervals, changePct, seed, (what) => {
      runs.publish(what);
      if ('final' in what) genMs = performance.now() - started;
    });
  } catch (err) {
    feed.fail(err);
    throw err;
  }
  process.stderr.write(`checkpoint bench: workload generated in ${(genMs / 1000).toFixed(1)} s, ${(enc.length / MiB).toFixed(0)} MiB of batches\n`);
  const outs = await runs.finished;
  const wl = feed.final!;
  const workloadsSec = (performance.now() - started) / 1000;

  // Restore timing, with nothing else running.
  const r0 = performance.now();
  try {
    if (restoreRounds > 0) {
      process.stderr.write(`checkpoint bench: timing restores against plain copies (${restoreRounds} rounds each) ... `);
      // Both chains' last checkpoints hold the same tables (crossCheckModes): time the first mode's.
      for (const out of outs) {
        const r = out.results[0]!;
        r.restore.timing = await timeRestore(out.storeDirs[r.mode]!, restoreRounds);
      }
    }
  } finally {
    for (const out of outs) for (const d of Object.values(out.storeDirs)) await rm(d, { recursive: true, force: true });
  }
  const restoreSec = (performance.now() - r0) / 1000;
  if (restoreRounds > 0) process.stderr.write(`${restoreSec.toFixed(1)} s\n`);
  const results = outs.flatMap((o) => o.results);
  const totalSec = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  const load1 = loadavg()[0]!;

  const date = new Date().toISOString();
  const incs = results.filter((r) => r.mode === 'incremental');
  const fulls = results.filter((r) => r.mode === 'full');
  const sum = (rs: ConfigResult[], f: (r: ConfigResult) => number): number => rs.reduce((a, r) => a + f(r), 0);
  const timed = results.filter((r) => r.restore.timing !== undefined);
  const headline: string[] = [
    `- total ${totalSec.toFixed(1)} s: ${configs.length} codec × style workloads (${modes.length} modes each, ${jobs} at a time, replaying the workload while it was generated, ${(genMs / 1000).toFixed(1)} s) ${workloadsSec.toFixed(1)} s, restore timing ${restoreSec.toFixed(1)} s; CPU ${cpuSec.toFixed(0)} s (user + system, all threads); 1-minute load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end (${cpus().length} CPUs)`,
  ];
  if (incs.length > 0 && fulls.length > 0) {
    headline.push(`- incremental uploaded ${mb(sum(incs, (r) => r.totalUploaded))} MiB over intervals 1..${intervals} of all configurations, full ${mb(sum(fulls, (r) => r.totalUploaded))} MiB: incremental / full = ${(sum(incs, (r) => r.totalUploaded) / Math.max(1, sum(fulls, (r) => r.totalUploaded))).toFixed(3)}`);
  }
  if (incs.length > 0) {
    const worst = Math.max(0, ...incs.flatMap((r) => r.checkpoints.slice(1).map((c) => c.uploadedBytes / Math.max(1, c.newTableBytes))));
    headline.push(`- incremental ΔS / tables created since the previous checkpoint (physical minimum, metadata not included): ${(sum(incs, (r) => r.totalUploaded) / Math.max(1, sum(incs, (r) => r.totalNewTables))).toFixed(3)} overall, worst single checkpoint ${worst.toFixed(3)}; with metadata ${((sum(incs, (r) => r.totalUploaded + r.totalMetadata)) / Math.max(1, sum(incs, (r) => r.totalNewTables))).toFixed(3)} (target ≤ 1.05 + metadata)`);
  }
  const blocked = results.filter((r) => r.mode === modes[0]).flatMap((r) => r.checkpoints.map((c) => c.writerBlockedMs)); // one pin per checkpoint, shared by the modes
  headline.push(`- writers blocked per checkpoint (the memtable freeze; one pin serves both modes): median ${ms(median(blocked))} ms, max ${ms(Math.max(0, ...blocked))} ms; ${blocked.filter((x) => x > 5).length} of ${blocked.length} pins above 5 ms (target ≤ 5 ms)`);
  if (timed.length > 0) {
    const rr = timed.map((r) => r.restore.timing!);
    headline.push(`- restore from directory storage: median ${median(rr.map((t) => t.restoreMiBps)).toFixed(0)} MiB/s; plain copy ${median(rr.map((t) => t.copyMiBps)).toFixed(0)} MiB/s, copy + fsync ${median(rr.map((t) => t.copySyncMiBps)).toFixed(0)} MiB/s; restore / copy median ${median(rr.map((t) => t.restoreMiBps / t.copyMiBps)).toFixed(2)}, restore / (copy + fsync) median ${median(rr.map((t) => t.restoreMiBps / t.copySyncMiBps)).toFixed(2)} (target ≥ 0.80); CPU time of a restore ${median(rr.map((t) => t.cpuMs.restore / Math.max(1e-3, t.cpuMs.copy))).toFixed(1)}× a plain copy's (median)`);
  }
  if (results.length > 0) headline.push(compactionHeadline(perWorkload(results)));
  const keyChecked = results.filter((r) => r.restore.keys > 0);
  headline.push(`- restore check: ${results.some(checkFailed) ? `**${results.filter(checkFailed).length} of ${results.length} restores failed**` : `all ${results.length} restored last checkpoints passed`} (every restore: the pinned version exactly, CRC32C of every file, ${results[0]?.restore.sampledGets ?? 0} sampled gets incl. deleted keys; ${keyChecked.length} of them also compared with the model key by key, ${wl.expectedKeys} keys: ${keyChecked.map((r) => `${r.codec}/${r.style}/${r.mode}`).join(', ') || 'none'})`);

  const out: string[] = [
    `## checkpoint bench: ${mb(params.stateBytes)} MiB (${stateMb} MB) raw state, ${intervals} intervals × ~${changePct}% changed`,
    '',
    `- ${date}; node ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    `- options: writeBufferSize ${wbMb} MiB, targetFileSizeBase ${tfMb} MiB, maxBytesForLevelBase ${4 * wbMb} MiB, wal off, retain ${retain}; directory storage on local disk; seed ${seed}; write batches of ${batchKb} KiB`,
    ...notes.map((n) => `- note: ${n}`),
    ...headline,
    '',
    '### Summary (mean over intervals 1..n; the initial checkpoint is excluded)',
    '',
    'Both modes of a codec and style checkpoint the same database at the same pinned versions, so S_o, S_c, S, space amp and the writer-blocked times are the same for both; ΔS is each mode\'s own uploads. S_c is the live tables\' size once the last checkpoint\'s state is fully compacted (compactRange after it), so ratio S_o/S_c is the codec\'s; C₀ is S_o/S at the initial checkpoint. Space amp = S at the last checkpoint / S_c: obsolete versions and tombstones compaction had not dropped. Checkpoint duration = pinning (freeze, wait for the flush; shared) + the mode\'s own upload and metadata time.',
    '',
    ...summaryTable(results),
    '',
    '### Incremental against full (sums over intervals 1..n)',
    '',
    '"changed raw × C": the bytes the changed keys would take compressed at the codec\'s ratio (C = S_c/S_o, fully compacted); incremental/(changed × C) above 1 is what flushes and compaction add on top of the changed data.',
    '',
    ...pairTable(results),
    '',
    '### Incremental uploads against the physical minimum (sums over intervals 1..n)',
    '',
    '"new tables since previous": bytes of the live tables at checkpoint n that were not in the version pinned at checkpoint n−1, i.e. tables flushed or compacted since the previous completed checkpoint. Any table-level incremental scheme has to upload them; ΔS (uploadedBytes) does not include the metadata object, which is shown apart.',
    '',
    ...minimumTable(results),
    '',
    '### Restore of the last checkpoint (directory storage)',
    '',
    `Timed after all workloads finished, nothing else of the benchmark running: restore (restoreCheckpoint: metadata validation, copy, CRC32C and size of every file, fsyncs, MANIFEST/CURRENT) against a plain copy of the same files (fs.copyFile, 4 at a time, no fsync) and that copy followed by an fsync of every file and the directory. The three alternate, rotating which runs first, ${restoreRounds} rounds; medians. Sources are in the page cache for all three. "keys compared": the restore made right after the workload, opened and compared with the model key by key.`,
    '',
    ...restoreTable(results),
    '',
    '### Did compaction keep up? (per codec × style workload, up to the last checkpoint)',
    '',
    'Counters from stats() right after the last checkpoint; the full compaction after it (for S_c) is not counted, only timed. Compactions rewrite tables; trivial moves move a table down a level without I/O. Input MiB/s per thread = bytes read / summed wall time of the compaction jobs. L0 tables: in each checkpoint\'s pinned version, and the most seen after any write batch. Stall s: writers slowed down or stopped on level 0 or pending compaction bytes, plus stalls on full memtables. Pending compaction: the engine\'s estimate of bytes compactions still had to write (leveled only).',
    '',
    ...keepUpTable(results),
    '',
    '### Where the time goes (per codec × style workload)',
    '',
    ...phaseTable(results),
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
  out.push(...ratioChart(results), '', ...spaceAmpChart(results), '```', '');
  out.push(...modelTable(results));
  const report = out.join('\n');
  console.log(report);

  const dir = join(values.out, `checkpoint-bench-${date.replace(/[:.]/g, '-')}`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'results.json');
  await writeFile(file, JSON.stringify({
    date, argv, node: process.version, cpus: cpus().length, totalSec, workloadsSec, restoreSec, genSec: genMs / 1000, cpuSec, loadavg: [load0, load1],
    params, notes, expectedKeys: wl.expectedKeys, phases: feed.phases.map((p) => ({ changedRawBytes: p.changedRawBytes, rawBytes: p.rawBytes, ops: p.ops, batches: p.ranges.length / 2 })),
    results,
  }, null, 2));
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
    '| codec | style | mean ΔS MiB | mean dropped MiB | mean changed × C MiB | intervals with ΔS > 2 × changed × C | worst ΔS / (changed × C) |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of results.filter((x) => x.mode === 'incremental')) {
    const c = 1 / r.ratio;
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

/** The headline's compaction line: space amplification, level-0 backlog, stalls, compaction speed (ranges over the workloads). */
function compactionHeadline(ws: ConfigResult[]): string {
  const range = (xs: number[], digits: number): string => {
    const [lo, hi] = [Math.min(...xs).toFixed(digits), Math.max(...xs).toFixed(digits)];
    return lo === hi ? lo : `${lo}–${hi}`;
  };
  const k = ws.map((r) => r.keepUp);
  return `- compaction: space amp at the last checkpoint (S / S_c fully compacted) ${range(ws.map((r) => r.spaceAmp), 2)}; level 0 held up to ${range(k.map((x) => x.maxL0AtCheckpoints), 0)} tables at a checkpoint and up to ${range(k.map((x) => x.maxL0Seen), 0)} after any write batch; writers stalled ${range(k.map((x) => x.stallSeconds), 1)} s per workload; compaction input ${range(k.map((x) => x.inputMiBpsPerThread), 1)} MiB/s per thread; the full compaction after the last checkpoint took ${range(ws.map((r) => r.phaseMs.fullCompaction / 1000), 1)} s`;
}

/** A color per codec (the styles differ by dash) for charts with one series per codec × style. */
const CODEC_COLORS: Record<CompressionName, string> = { none: '#7f7f7f', snappy: '#e6550d', lz4: '#2b7bba', zstd: '#31a354' };

/** SVG charts: checkpoint size over time (incremental against full) per codec and style, size/ratio per codec, space amplification per checkpoint. */
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
    { name: 'S (last checkpoint)', color: '#a1d99b', values: incs.map((r) => lastS(r) / MiB) },
    { name: 'S_c fully compacted', color: '#31a354', values: incs.map((r) => r.compressedBytes / MiB) },
  ], 'MiB'));
  await writeFile(join(dir, 'codecs-ratio.svg'), barChart('Compression ratio per codec', labels, [
    { name: 'C₀ initial (S_o / S)', color: '#756bb1', values: incs.map((r) => r.initialRatio) },
    { name: 'codec ratio S_o / S_c (fully compacted)', color: '#bcbddc', values: incs.map((r) => r.ratio) },
  ], 'ratio'));
  const ws = perWorkload(results);
  await writeFile(join(dir, 'space-amp.svg'), lineChart(
    'Space amplification per checkpoint (S / fully compacted size)',
    (ws[0]?.checkpoints ?? []).map((c) => String(c.interval)),
    ws.map((r) => ({ name: `${r.codec}/${r.style}`, color: CODEC_COLORS[r.codec], values: r.spaceAmpByCheckpoint, ...(r.style === 'universal' ? { dash: '6 3' } : {}) })),
    '× fully compacted size',
  ));
  files.push('codecs-size.svg', 'codecs-ratio.svg', 'space-amp.svg');
  return files;
}

if (!isMainThread && (workerData as Partial<WorkerInit> | null)?.ckbench === true) {
  // A worker thread of runAll(): runs the workloads it is sent, one at a time.
  const init = workerData as WorkerInit;
  const feed = new WorkloadFeed(init.batches);
  await loadCodecs();
  parentPort!.on('message', (m: ToWorker) => {
    if ('phase' in m) {
      feed.addPhase(m.phase);
    } else if ('final' in m) {
      feed.setFinal(m.final);
    } else {
      runWorkload(m.run, feed, init.params).then(
        (ok) => parentPort!.postMessage({ ok } satisfies WorkerReply),
        (err: unknown) => parentPort!.postMessage({ error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies WorkerReply),
      );
    }
  });
} else if (isMainThread && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await main();
  } catch (err) {
    console.error(err instanceof Error ? err.stack ?? err.message : err);
    process.exitCode = 1;
  }
}
