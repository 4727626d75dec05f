/**
 * Compaction simulator: runs thousands of memtable flushes through the real pickers
 * (src/compaction/leveled-picker.ts, universal-picker.ts) with synthetic FileMetaData and
 * "executes" every plan without I/O, to show write amplification, space amplification and the
 * sorted-run count of each compaction style over time. Results: docs/compaction.md.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/compaction-sim.js [flags]
 *
 *   --style leveled|universal|both   (both)
 *   --flushes N                      memtable flushes (20000)
 *   --flush-mib N                    bytes per flush, MiB (64)
 *   --keyspace-gib N|inf             bytes the keyspace holds when every key is present (64);
 *                                    inf = insert-only, no write ever overwrites another
 *   --range-fraction F               share of the keyspace one flush covers (1 = uniformly random
 *                                    writes; 0.02 = each memtable holds one random 2% key range)
 *   --jobs N                         concurrent compactions (2)
 *   --job-speed X                    bytes one job reads + writes per flush interval, in flushes (40)
 *   --seed N                         PRNG seed (1)
 *   --opt name=value                 a CompactionOptions field (repeatable), e.g. --opt sizeRatio=10;
 *                                    sizes take K, M, G (KiB, MiB, GiB)
 *   --samples N                      rows of the over-time table (10)
 *   --trace                          print every compaction to stderr (sorted runs in MiB before it)
 *
 * Model (documented in docs/compaction.md):
 * - Keys are positions in [0, 2^40), encoded as 6-byte big-endian user keys. A file covers
 *   [lo, hi) and its data is spread evenly over that range.
 * - Flush i writes flush-mib MiB of distinct keys, uniformly at random in a random range of
 *   range-fraction × keyspace: an L0 file with density d = size / (range share × keyspace bytes),
 *   the share of the range's keys it holds.
 * - A compaction's output over each key segment keeps the union of its inputs' keys: density
 *   1 - Π(1 - d_i) over the input files covering the segment. This is exact in expectation:
 *   every flush puts each key in exactly one file, so files hold independent random subsets.
 *   With keyspace inf there are no overwrites and the output is the sum of the inputs. Deletes
 *   are not modelled.
 * - Outputs are cut at maxOutputFileBytes and, for leveled, where the grandparent overlap exceeds
 *   maxGrandparentOverlapBytes (LevelDB's ShouldStopBefore), at segment granularity. A trivial
 *   move writes nothing.
 * - Time advances one unit per flush. Up to `jobs` compactions run at once; one lasts
 *   (bytes read + bytes written) / (job-speed × flush bytes) units, its inputs are
 *   beingCompacted meanwhile and its result is installed when it ends. Writes stop (the flush
 *   waits for a compaction to end) at level0StopWritesTrigger L0 files (universal: sorted runs) or
 *   hardPendingCompactionBytesLimit, and run at half rate at the slowdown trigger or soft limit.
 * - Write amplification = (bytes flushed + bytes written by compactions) / bytes flushed.
 *   Space amplification = bytes in all files / live bytes (what a full compaction would leave).
 *   Sorted runs = L0 files + non-empty levels >= 1, measured right after each flush.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { makeInternalKey, ValueKind } from '../src/base/internal-key.js';
import { type CompactionOptions, resolveCompactionOptions } from '../src/compaction/compaction-options.js';
import { type CompactionPlan, type PickerInput, pendingCompactionBytes } from '../src/compaction/compaction-plan.js';
import { pickLeveledCompaction } from '../src/compaction/leveled-picker.js';
import { pickUniversalCompaction } from '../src/compaction/universal-picker.js';
import { NUM_LEVELS } from '../src/manifest/version.js';
import type { FileMetaData } from '../src/manifest/version-edit.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const KEY_UNITS = 2 ** 40;
const LIVE_BUCKETS = 4096;

export interface SimConfig {
  styles: ('leveled' | 'universal')[];
  flushes: number;
  flushBytes: number;
  /** Bytes of the full keyspace; Infinity = insert-only. */
  keyspaceBytes: number;
  rangeFraction: number;
  jobs: number;
  jobSpeed: number;
  seed: number;
  options: Partial<CompactionOptions>;
  samples: number;
  /** Print every compaction (time, sorted runs in MiB, '*' = being compacted, plan) to stderr. */
  trace: boolean;
}

interface SimFile {
  meta: FileMetaData;
  lo: number;
  hi: number;
  /** Newest flush whose data the file holds; orders L0 newest first. */
  seq: number;
}

interface Sample {
  flush: number;
  time: number;
  userBytes: number;
  writtenBytes: number;
  totalBytes: number;
  liveBytes: number;
  sortedRuns: number;
}

export interface SimResult {
  style: 'leveled' | 'universal';
  samples: Sample[];
  compactions: Record<string, number>;
  trivialMoves: number;
  compactionBytesWritten: number;
  stallTime: number;
  slowdownTime: number;
  totalTime: number;
  finalLevels: { files: number; bytes: number }[];
  elapsedMs: number;
}

class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 1;
  }
  /** mulberry32, [0, 1). */
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

function userKey(position: number): Uint8Array {
  const k = new Uint8Array(6);
  let p = position;
  for (let i = 5; i >= 0; i--) {
    k[i] = p % 256;
    p = Math.floor(p / 256);
  }
  return k;
}

interface RunningJob {
  plan: CompactionPlan;
  end: number;
  inputs: SimFile[];
  outputs: SimFile[];
  outputBytes: number;
}

class Simulator {
  readonly cfg: SimConfig;
  readonly options: CompactionOptions;
  readonly levels: SimFile[][] = Array.from({ length: NUM_LEVELS }, () => []);
  readonly byNumber = new Map<number, SimFile>();
  readonly beingCompacted = new Set<number>();
  readonly compactPointers = new Map<number, Uint8Array>();
  readonly live = new Float64Array(LIVE_BUCKETS); // density of live keys per bucket
  readonly rng: Rng;
  readonly running: RunningJob[] = [];
  nextNumber = 1;
  time = 0;
  userBytes = 0;
  compactionBytesWritten = 0;
  trivialMoves = 0;
  stallTime = 0;
  slowdownTime = 0;
  compactions: Record<string, number> = {};

  constructor(cfg: SimConfig, style: 'leveled' | 'universal') {
    this.cfg = cfg;
    this.options = resolveCompactionOptions({ ...cfg.options, compactionStyle: style });
    this.rng = new Rng(cfg.seed);
  }

  get insertOnly(): boolean {
    return !Number.isFinite(this.cfg.keyspaceBytes);
  }

  pickerInput(): PickerInput {
    return { files: this.levels.map((l) => l.map((f) => f.meta)), beingCompacted: this.beingCompacted, compactPointers: this.compactPointers };
  }

  pick(): CompactionPlan | undefined {
    const input = this.pickerInput();
    return this.options.compactionStyle === 'universal' ? pickUniversalCompaction(input, this.options) : pickLeveledCompaction(input, this.options);
  }

  makeFile(lo: number, hi: number, size: number, seq: number): SimFile {
    const number = this.nextNumber++;
    const meta: FileMetaData = {
      number,
      size: Math.max(1, Math.round(size)),
      smallest: makeInternalKey(userKey(lo), seq, ValueKind.Value),
      largest: makeInternalKey(userKey(hi - 1), seq, ValueKind.Value),
    };
    const f: SimFile = { meta, lo, hi, seq };
    this.byNumber.set(number, f);
    return f;
  }

  /** Share of the range's keys a file holds (0 in insert-only mode, where bytes simply add). */
  density(f: SimFile): number {
    if (this.insertOnly) return 0;
    return Math.min(1, f.meta.size / (((f.hi - f.lo) / KEY_UNITS) * this.cfg.keyspaceBytes));
  }

  flush(seq: number): void {
    const width = this.insertOnly
      ? Math.floor(this.cfg.rangeFraction * KEY_UNITS)
      : Math.floor(Math.max(this.cfg.rangeFraction, this.cfg.flushBytes / this.cfg.keyspaceBytes) * KEY_UNITS);
    const w = Math.max(2, Math.min(KEY_UNITS, width));
    const lo = Math.floor(this.rng.next() * (KEY_UNITS - w + 1));
    const f = this.makeFile(lo, lo + w, this.cfg.flushBytes, seq);
    this.levels[0]!.unshift(f);
    this.userBytes += this.cfg.flushBytes;
    if (!this.insertOnly) {
      const d = this.density(f);
      const bucketUnits = KEY_UNITS / LIVE_BUCKETS;
      const first = Math.floor(f.lo / bucketUnits);
      const last = Math.min(LIVE_BUCKETS - 1, Math.floor((f.hi - 1) / bucketUnits));
      for (let b = first; b <= last; b++) {
        const covered = Math.min(f.hi, (b + 1) * bucketUnits) - Math.max(f.lo, b * bucketUnits);
        const frac = covered / bucketUnits;
        this.live[b] = 1 - (1 - this.live[b]!) * (1 - d * frac);
      }
    }
  }

  liveBytes(): number {
    if (this.insertOnly) return this.userBytes;
    let sum = 0;
    for (const d of this.live) sum += d;
    return (sum / LIVE_BUCKETS) * this.cfg.keyspaceBytes;
  }

  totalBytes(): number {
    let n = 0;
    for (const level of this.levels) for (const f of level) n += f.meta.size;
    return n;
  }

  runSizes(): string {
    const parts: string[] = [];
    for (const f of this.levels[0]!) parts.push(`${(f.meta.size / MiB).toFixed(0)}${this.beingCompacted.has(f.meta.number) ? '*' : ''}`);
    for (let l = 1; l < NUM_LEVELS; l++) {
      const b = this.levels[l]!.reduce((n, f) => n + f.meta.size, 0);
      if (b > 0) parts.push(`L${l}:${(b / MiB).toFixed(0)}${this.levels[l]!.some((f) => this.beingCompacted.has(f.meta.number)) ? '*' : ''}`);
    }
    return parts.join(',');
  }

  sortedRuns(): number {
    let n = this.levels[0]!.length;
    for (let level = 1; level < NUM_LEVELS; level++) if (this.levels[level]!.length > 0) n++;
    return n;
  }

  /** Merges the inputs into output files (not yet installed). */
  merge(plan: CompactionPlan, inputs: SimFile[]): { outputs: SimFile[]; bytes: number } {
    const seq = Math.max(...inputs.map((f) => f.seq));
    // Sweep the segment boundaries of all inputs.
    const points = new Set<number>();
    for (const f of inputs) {
      points.add(f.lo);
      points.add(f.hi);
    }
    const bounds = [...points].sort((a, b) => a - b);
    const byLo = [...inputs].sort((a, b) => a.lo - b.lo);
    const rate = new Map<SimFile, number>(); // bytes per key unit (insert-only) or density
    for (const f of inputs) rate.set(f, this.insertOnly ? f.meta.size / (f.hi - f.lo) : this.density(f));
    const grandparents = plan.grandparents.map((g) => this.byNumber.get(g.number)!).sort((a, b) => a.lo - b.lo);
    const maxBytes = plan.maxOutputFileBytes;
    const maxOverlap = plan.maxGrandparentOverlapBytes;
    const unitBytes = this.insertOnly ? 0 : this.cfg.keyspaceBytes / KEY_UNITS;

    const outputs: SimFile[] = [];
    let total = 0;
    let active: SimFile[] = [];
    let next = 0;
    let pieceLo = -1;
    let pieceEnd = -1;
    let pieceBytes = 0;
    let gpIndex = 0;
    let overlapped = 0;
    const finish = (): void => {
      if (pieceLo >= 0 && pieceBytes > 0 && pieceEnd > pieceLo) {
        outputs.push(this.makeFile(pieceLo, pieceEnd, pieceBytes, seq));
        total += Math.max(1, Math.round(pieceBytes));
      }
      pieceLo = -1;
      pieceEnd = -1;
      pieceBytes = 0;
      overlapped = 0;
    };
    for (let i = 0; i + 1 < bounds.length; i++) {
      const p = bounds[i]!;
      const q = bounds[i + 1]!;
      active = active.filter((f) => f.hi > p);
      while (next < byLo.length && byLo[next]!.lo <= p) {
        if (byLo[next]!.hi > p) active.push(byLo[next]!);
        next++;
      }
      if (active.length === 0) continue;
      let segBytes: number;
      if (this.insertOnly) {
        let r = 0;
        for (const f of active) r += rate.get(f)!;
        segBytes = r * (q - p);
      } else {
        let keep = 1;
        for (const f of active) keep *= 1 - rate.get(f)!;
        segBytes = (1 - keep) * (q - p) * unitBytes;
      }
      if (segBytes <= 0) continue;
      // Grandparent overlap (LevelDB's ShouldStopBefore), checked at segment starts.
      while (gpIndex < grandparents.length && grandparents[gpIndex]!.hi <= p) {
        if (pieceLo >= 0) overlapped += grandparents[gpIndex]!.meta.size;
        gpIndex++;
      }
      if (pieceLo >= 0 && overlapped > maxOverlap) finish();
      // Fill pieces from this segment, cutting at maxOutputFileBytes.
      let from = p;
      let bytesLeft = segBytes;
      while (bytesLeft > 0) {
        if (pieceLo < 0) pieceLo = from;
        const room = maxBytes - pieceBytes;
        if (bytesLeft <= room) {
          pieceBytes += bytesLeft;
          pieceEnd = q;
          bytesLeft = 0;
        } else {
          const cut = Math.min(q - 1, Math.max(from + 1, from + Math.floor(((q - from) * room) / bytesLeft)));
          if (cut <= from) {
            // A one-unit segment larger than a file: keep it whole.
            pieceBytes += bytesLeft;
            pieceEnd = q;
            break;
          }
          const taken = (bytesLeft * (cut - from)) / (q - from);
          pieceBytes += taken;
          pieceEnd = cut;
          bytesLeft -= taken;
          from = cut;
          finish();
          if (from >= q) break;
        }
      }
    }
    finish();
    return { outputs, bytes: total };
  }

  start(plan: CompactionPlan): void {
    if (this.cfg.trace) console.error(`t=${this.time.toFixed(1)} runs=${this.runSizes()} -> ${plan.reason} ${plan.inputs.map((i) => `L${i.level}x${i.files.length}`).join('+')} -> L${plan.outputLevel}`);
    this.compactions[plan.reason] = (this.compactions[plan.reason] ?? 0) + 1;
    if (plan.compactPointer !== undefined) this.compactPointers.set(plan.compactPointer.level, plan.compactPointer.key);
    const inputs = plan.inputs.flatMap((i) => i.files.map((f) => this.byNumber.get(f.number)!));
    if (plan.trivialMove) {
      this.trivialMoves++;
      const f = inputs[0]!;
      this.remove(plan.inputs[0]!.level, f);
      this.insert(plan.outputLevel, f);
      return;
    }
    const { outputs, bytes } = this.merge(plan, inputs);
    let read = 0;
    for (const f of inputs) read += f.meta.size;
    for (const f of inputs) this.beingCompacted.add(f.meta.number);
    const duration = (read + bytes) / (this.cfg.jobSpeed * this.cfg.flushBytes);
    this.running.push({ plan, end: this.time + duration, inputs, outputs, outputBytes: bytes });
  }

  complete(job: RunningJob): void {
    for (const { level, files } of job.plan.inputs) {
      for (const f of files) {
        this.remove(level, this.byNumber.get(f.number)!);
        this.beingCompacted.delete(f.number);
        this.byNumber.delete(f.number);
      }
    }
    for (const f of job.outputs) this.insert(job.plan.outputLevel, f);
    this.compactionBytesWritten += job.outputBytes;
    this.checkLevel(job.plan.outputLevel);
  }

  remove(level: number, f: SimFile): void {
    const files = this.levels[level]!;
    const i = files.indexOf(f);
    if (i < 0) throw new Error(`simulator: file ${f.meta.number} is not in L${level}`);
    files.splice(i, 1);
  }

  insert(level: number, f: SimFile): void {
    const files = this.levels[level]!;
    if (level === 0) {
      let i = 0;
      while (i < files.length && files[i]!.seq > f.seq) i++;
      files.splice(i, 0, f);
      return;
    }
    let lo = 0;
    let hi = files.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (files[mid]!.lo < f.lo) lo = mid + 1;
      else hi = mid;
    }
    files.splice(lo, 0, f);
  }

  /** Levels >= 1 must stay sorted and disjoint: a picker bug shows up here. */
  checkLevel(level: number): void {
    if (level === 0) return;
    const files = this.levels[level]!;
    for (let i = 1; i < files.length; i++) {
      if (files[i - 1]!.hi > files[i]!.lo) {
        throw new Error(`simulator: files ${files[i - 1]!.meta.number} and ${files[i]!.meta.number} overlap in L${level}`);
      }
    }
  }

  /** Starts compactions while job slots are free and the picker has work. */
  schedule(): void {
    for (let guard = 0; guard < 10_000; guard++) {
      if (this.running.length >= this.cfg.jobs) return;
      const plan = this.pick();
      if (plan === undefined) return;
      this.start(plan);
    }
    throw new Error('simulator: the picker keeps returning trivial moves');
  }

  writeCondition(): 'normal' | 'slowdown' | 'stop' {
    const o = this.options;
    const count = o.compactionStyle === 'universal' ? this.sortedRuns() : this.levels[0]!.length;
    const pending = o.compactionStyle === 'leveled' ? pendingCompactionBytes(this.pickerInput(), o) : 0;
    if (count >= o.level0StopWritesTrigger || (o.hardPendingCompactionBytesLimit > 0 && pending >= o.hardPendingCompactionBytesLimit)) return 'stop';
    if (count >= o.level0SlowdownWritesTrigger || (o.softPendingCompactionBytesLimit > 0 && pending >= o.softPendingCompactionBytesLimit)) return 'slowdown';
    return 'normal';
  }

  /** Advances time to `until`, completing the jobs that end before it. */
  advanceTo(until: number): void {
    for (;;) {
      this.schedule();
      let first: RunningJob | undefined;
      for (const j of this.running) if (first === undefined || j.end < first.end) first = j;
      if (first === undefined || first.end > until) break;
      this.time = Math.max(this.time, first.end);
      this.running.splice(this.running.indexOf(first), 1);
      this.complete(first);
    }
    this.time = Math.max(this.time, until);
  }

  /** Waits for the next job to end; false when nothing runs. */
  waitForJob(): boolean {
    this.schedule();
    let first: RunningJob | undefined;
    for (const j of this.running) if (first === undefined || j.end < first.end) first = j;
    if (first === undefined) return false;
    this.time = Math.max(this.time, first.end);
    this.running.splice(this.running.indexOf(first), 1);
    this.complete(first);
    return true;
  }

  run(style: 'leveled' | 'universal'): SimResult {
    const started = performance.now();
    const samples: Sample[] = [];
    let nextFlushAt = 1;
    for (let i = 1; i <= this.cfg.flushes; i++) {
      this.advanceTo(nextFlushAt);
      let condition = this.writeCondition();
      const due = this.time;
      while (condition === 'stop' && this.waitForJob()) condition = this.writeCondition();
      this.stallTime += this.time - due;
      this.flush(i);
      const interval = condition === 'slowdown' ? 2 : 1;
      if (condition === 'slowdown') this.slowdownTime += interval;
      nextFlushAt = this.time + interval;
      samples.push({
        flush: i,
        time: this.time,
        userBytes: this.userBytes,
        writtenBytes: this.userBytes + this.compactionBytesWritten,
        totalBytes: this.totalBytes(),
        liveBytes: this.liveBytes(),
        sortedRuns: this.sortedRuns(),
      });
    }
    // Let the running compactions finish so the final shape is settled (not sampled).
    while (this.waitForJob());
    return {
      style,
      samples,
      compactions: this.compactions,
      trivialMoves: this.trivialMoves,
      compactionBytesWritten: this.compactionBytesWritten,
      stallTime: this.stallTime,
      slowdownTime: this.slowdownTime,
      totalTime: this.time,
      finalLevels: this.levels.map((l) => ({ files: l.length, bytes: l.reduce((n, f) => n + f.meta.size, 0) })),
      elapsedMs: performance.now() - started,
    };
  }
}

export function simulate(cfg: SimConfig, style: 'leveled' | 'universal'): SimResult {
  return new Simulator(cfg, style).run(style);
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = (n: number, digits = 2): string => n.toFixed(digits);
const gib = (n: number): string => fmt(n / GiB, 1);

function stats(values: number[]): { mean: number; max: number; last: number } {
  let sum = 0;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    if (v > max) max = v;
  }
  return { mean: values.length > 0 ? sum / values.length : 0, max, last: values[values.length - 1] ?? 0 };
}

/** An ASCII chart: one column per window of samples (its maximum), `height` rows from the minimum to the maximum column. */
export function asciiChart(values: number[], title: string, width = 60, height = 8, digits = 1): string[] {
  const cols: number[] = [];
  const per = Math.max(1, Math.ceil(values.length / width));
  for (let i = 0; i < values.length; i += per) cols.push(Math.max(...values.slice(i, i + per)));
  const bottom = Math.min(...cols);
  const top = Math.max(Math.max(...cols), bottom + 10 ** -digits);
  const lines = [title];
  for (let row = height; row >= 1; row--) {
    const threshold = bottom + ((top - bottom) * (row - 0.5)) / height;
    const label = row === height ? fmt(top, digits) : row === 1 ? fmt(bottom, digits) : '';
    lines.push(`${label.padStart(7)} |${cols.map((v) => (v >= threshold ? '#' : ' ')).join('')}`);
  }
  lines.push(`${''.padStart(7)} +${'-'.repeat(cols.length)} flushes 1..${values.length}`);
  return lines;
}

export function report(cfg: SimConfig, results: SimResult[], command: string): string {
  const out: string[] = [];
  out.push('## Compaction simulator results', '');
  out.push(`Command: \`${command}\`  `);
  out.push(`Date: ${new Date().toISOString().slice(0, 10)}, Node ${process.version}  `);
  const keyspace = Number.isFinite(cfg.keyspaceBytes) ? `${gib(cfg.keyspaceBytes)} GiB` : 'insert-only (no overwrites)';
  out.push(
    `Workload: ${cfg.flushes} flushes of ${cfg.flushBytes / MiB} MiB (${gib(cfg.flushes * cfg.flushBytes)} GiB written), ` +
      `keyspace ${keyspace}, each flush over ${fmt(cfg.rangeFraction * 100, 1)}% of the keys; ` +
      `${cfg.jobs} compaction jobs at ${cfg.jobSpeed}× the ingest rate; seed ${cfg.seed}` +
      (Object.keys(cfg.options).length > 0 ? `; options ${JSON.stringify(cfg.options)}` : '') +
      '.',
    '',
  );
  out.push('Steady state = the second half of the run; sorted runs are counted right after each flush.', '');
  out.push('| style | write amp | space amp: end / mean / max | sorted runs: end / mean / max | stalled | slowed | compactions | trivial moves | sim time |');
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const half = r.samples.slice(Math.floor(r.samples.length / 2));
    const sa = stats(half.map((s) => s.totalBytes / s.liveBytes));
    const runs = stats(half.map((s) => s.sortedRuns));
    const last = r.samples[r.samples.length - 1]!;
    const wa = last.writtenBytes / last.userBytes;
    const count = Object.values(r.compactions).reduce((a, b) => a + b, 0);
    const reasons = Object.entries(r.compactions).sort().map(([k, v]) => `${k} ${v}`).join(', ');
    out.push(
      `| ${r.style} | ${fmt(wa)} | ${fmt(sa.last)} / ${fmt(sa.mean)} / ${fmt(sa.max)} | ${runs.last} / ${fmt(runs.mean, 1)} / ${runs.max} | ` +
        `${fmt((100 * r.stallTime) / r.totalTime, 1)}% | ${fmt((100 * r.slowdownTime) / r.totalTime, 1)}% | ${count} (${reasons}) | ${r.trivialMoves} | ${fmt(r.elapsedMs / 1000, 1)} s |`,
    );
  }
  out.push('');

  out.push('### Over time', '');
  const header = ['flushes', 'user GiB', 'live GiB'];
  for (const r of results) header.push(`${r.style} GiB`, `${r.style} WA`, `${r.style} SA`, `${r.style} runs`);
  out.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
  const rows = Math.max(1, cfg.samples);
  for (let k = 1; k <= rows; k++) {
    const idx = Math.min(cfg.flushes, Math.round((k * cfg.flushes) / rows)) - 1;
    const base = results[0]!.samples[idx]!;
    const cells = [String(base.flush), gib(base.userBytes), gib(base.liveBytes)];
    for (const r of results) {
      const s = r.samples[idx]!;
      cells.push(gib(s.totalBytes), fmt(s.writtenBytes / s.userBytes), fmt(s.totalBytes / s.liveBytes), String(s.sortedRuns));
    }
    out.push(`| ${cells.join(' | ')} |`);
  }
  out.push('');

  out.push('### Shape at the end (files / GiB per level)', '');
  out.push(`| style | ${Array.from({ length: NUM_LEVELS }, (_, i) => `L${i}`).join(' | ')} |`);
  out.push(`|---|${Array.from({ length: NUM_LEVELS }, () => '---').join('|')}|`);
  for (const r of results) {
    out.push(`| ${r.style} | ${r.finalLevels.map((l) => (l.files === 0 ? '-' : `${l.files} / ${gib(l.bytes)}`)).join(' | ')} |`);
  }
  out.push('');

  out.push('### Charts', '', '```');
  for (const r of results) {
    out.push(...asciiChart(r.samples.map((s) => s.sortedRuns), `${r.style}: sorted runs (max per column)`, 60, 6, 0), '');
    out.push(...asciiChart(r.samples.map((s) => s.totalBytes / s.liveBytes), `${r.style}: space amplification (max per column)`, 60, 6, 2), '');
  }
  out.push('```');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// CLI

export function parseSimArgs(argv: string[]): SimConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      style: { type: 'string', default: 'both' },
      flushes: { type: 'string', default: '20000' },
      'flush-mib': { type: 'string', default: '64' },
      'keyspace-gib': { type: 'string', default: '64' },
      'range-fraction': { type: 'string', default: '1' },
      jobs: { type: 'string', default: '2' },
      'job-speed': { type: 'string', default: '40' },
      seed: { type: 'string', default: '1' },
      opt: { type: 'string', multiple: true, default: [] },
      samples: { type: 'string', default: '10' },
      trace: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const num = (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) throw new RangeError(`--${name} must be a number >= ${min}, got ${text}`);
    return n;
  };
  const style = values.style;
  if (style !== 'both' && style !== 'leveled' && style !== 'universal') throw new RangeError(`--style must be leveled, universal or both`);
  const options: Record<string, unknown> = {};
  for (const o of values.opt) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new RangeError(`--opt expects name=value, got ${o}`);
    const raw = o.slice(eq + 1);
    const sized = /^(\d+(?:\.\d+)?)([KMG])$/.exec(raw);
    if (sized !== null) options[o.slice(0, eq)] = Math.round(Number(sized[1]) * 1024 ** ('KMG'.indexOf(sized[2]!) + 1));
    else options[o.slice(0, eq)] = raw === 'true' ? true : raw === 'false' ? false : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  }
  resolveCompactionOptions(options as Partial<CompactionOptions>); // validate early
  const keyspace = values['keyspace-gib'] === 'inf' ? Infinity : num('keyspace-gib', values['keyspace-gib'], 0.001) * GiB;
  const rangeFraction = num('range-fraction', values['range-fraction'], 1e-9);
  if (rangeFraction > 1) throw new RangeError('--range-fraction must be <= 1');
  return {
    styles: style === 'both' ? ['leveled', 'universal'] : [style],
    flushes: Math.floor(num('flushes', values.flushes, 1)),
    flushBytes: Math.floor(num('flush-mib', values['flush-mib'], 0.001) * MiB),
    keyspaceBytes: keyspace,
    rangeFraction,
    jobs: Math.floor(num('jobs', values.jobs, 1)),
    jobSpeed: num('job-speed', values['job-speed'], 0.001),
    seed: Math.floor(num('seed', values.seed, 0)),
    options: options as Partial<CompactionOptions>,
    samples: Math.floor(num('samples', values.samples, 1)),
    trace: values.trace,
  };
}

export function main(argv: string[] = process.argv.slice(2)): string {
  const cfg = parseSimArgs(argv);
  const results = cfg.styles.map((style) => simulate(cfg, style));
  const command = ['node dist/bench/compaction-sim.js', ...argv].join(' ');
  const text = report(cfg, results, command);
  console.log(text);
  return text;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
