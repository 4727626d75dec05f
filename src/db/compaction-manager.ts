/**
 * Schedules compactions, installs their results, and applies write stalls (RocksDB's
 * background compaction scheduling and WriteController).
 *
 * - After every flush or compaction the picker of the configured style plans the next
 *   compaction; up to `maxCompactions` run at once on disjoint files. A trivial move is just a
 *   version edit; every other plan runs as a job (worker thread, or main thread when user
 *   functions are plain objects or the file system is in memory).
 * - A job's outputs become live with one VersionEdit (delete inputs, add outputs) made durable
 *   in the MANIFEST; then the inputs are obsolete and deleted once no version holds them.
 * - Writes slow down (a short blocking delay per write) when level 0 has
 *   level0SlowdownWritesTrigger files or pending compaction bytes pass the soft limit, and stop
 *   (block until a compaction finishes) at level0StopWritesTrigger or the hard limit. A stall
 *   never fails a write; it is counted in stats.
 */
import { LsmError, assert } from '../base/errors.js';
import type { CompactionJobResult, CompactionJobSpec } from '../compaction/compaction-job.js';
import type { CompactionOptions } from '../compaction/compaction-options.js';
import {
  type CompactionPlan, type PickerInput, grandparentOverlapLimit, levelScores, levelTargets, overlappingFiles,
  pendingCompactionBytes, targetFileSizeForLevel, totalBytes,
} from '../compaction/compaction-plan.js';
import { makeInternalKey } from '../base/internal-key.js';
import { pickLeveledCompaction, pickManualCompaction } from '../compaction/leveled-picker.js';
import type { UserFunctionSpec } from '../compaction/merge-operator.js';
import { type SubcompactionRange, subcompactionRanges } from '../compaction/subcompactions.js';
import { pickUniversalCompaction } from '../compaction/universal-picker.js';
import { NUM_LEVELS } from '../manifest/version.js';
import { type FileMetaData, VersionEdit } from '../manifest/version-edit.js';
import type { VersionSet } from '../manifest/version-set.js';
import type { TableBuilderOptions } from '../sstable/table-builder.js';
import type { JobRunner } from './job-runner.js';

/** What the manager needs from the database that owns it. */
export interface CompactionHost {
  readonly dir: string;
  readonly versions: VersionSet;
  readonly pendingOutputs: Set<number>;
  readonly runner: JobRunner;
  nextJobId(): number;
  /** Sequence numbers of live snapshots, ascending. */
  snapshotSequences(): number[];
  builderOptionsFor(level: number, bottommost: boolean): TableBuilderOptions;
  mergeOperatorSpec: UserFunctionSpec | undefined;
  compactionFilterSpec: UserFunctionSpec | undefined;
  /** Background work failed: the database becomes read-only. */
  fail(err: unknown): void;
  failed(): boolean;
  /** A version was installed: delete obsolete files. */
  afterInstall(): void;
  /** A flush job has taken a file number and not yet installed its table. */
  flushInFlight(): boolean;
}

/** One compaction: a plan run as one job, or as several subcompaction jobs over disjoint key ranges. */
interface RunningCompaction {
  plan: CompactionPlan;
  specs: CompactionJobSpec[];
  /** Results of the jobs finished so far. */
  results: CompactionJobResult[];
  done: Promise<void>;
  settle: (err?: unknown) => void;
}

export interface CompactionCounters {
  count: number;
  trivialMoves: number;
  bytesRead: number;
  bytesWritten: number;
  /** Compactions that merged level-0 files into one level-0 file (included in count). */
  intraL0: number;
  /** Jobs of compactions that ran split into key ranges (0 when none was split). */
  subcompactions: number;
  /** Wall time of finished compaction jobs on their threads, summed (input MB/s per thread = bytesRead / jobMicros). */
  jobMicros: number;
  /** Entries read by finished compaction jobs. */
  inputEntries: number;
  slowdownWrites: number;
  slowdownMicros: number;
  stops: number;
  stopMicros: number;
}

/** RocksDB's default delayed_write_rate: 16 MiB/s while writes are slowed down. */
const DELAYED_WRITE_BYTES_PER_SECOND = 16 * 1024 * 1024;

export class CompactionManager {
  readonly #host: CompactionHost;
  readonly #options: CompactionOptions;
  readonly #maxCompactions: number;
  readonly #maxSubcompactions: number;
  /** Running compactions by the id of each of their jobs. */
  readonly #byJob = new Map<number, RunningCompaction>();
  readonly #running = new Set<RunningCompaction>();
  readonly #sleeper = new Int32Array(new SharedArrayBuffer(4));
  #paused = 0;
  /** Manual compactions run one after another (each drains, then plans from the current version). */
  #manualQueue: Promise<void> = Promise.resolve();
  #disabled: boolean;
  #owedDelayMicros = 0;
  #stallCache: { version: unknown; level0Count: number; pendingBytes: number } | undefined;
  readonly counters: CompactionCounters = {
    count: 0, trivialMoves: 0, bytesRead: 0, bytesWritten: 0, intraL0: 0, subcompactions: 0, jobMicros: 0, inputEntries: 0, slowdownWrites: 0, slowdownMicros: 0, stops: 0, stopMicros: 0,
  };

  constructor(host: CompactionHost, options: CompactionOptions, concurrency: { maxCompactions: number; maxSubcompactions: number }, disableAutoCompactions: boolean) {
    this.#host = host;
    this.#options = options;
    this.#maxCompactions = Math.max(1, concurrency.maxCompactions);
    this.#maxSubcompactions = Math.max(1, concurrency.maxSubcompactions);
    this.#disabled = disableAutoCompactions;
  }

  get runningCount(): number {
    return this.#running.size;
  }

  #pickerInput(): PickerInput {
    const beingCompacted = new Set<number>();
    for (const r of this.#running) for (const l of r.plan.inputs) for (const f of l.files) beingCompacted.add(f.number);
    return { files: this.#host.versions.current.files, beingCompacted, compactPointers: this.#host.versions.compactPointers };
  }

  /** Starts every compaction the picker finds, up to the concurrency limit. */
  maybeSchedule(): void {
    if (this.#disabled || this.#paused > 0 || this.#host.failed()) return;
    while (this.#busyJobs() < this.#maxCompactions) {
      const input = this.#pickerInput();
      const plan = this.#options.compactionStyle === 'universal'
        ? pickUniversalCompaction(input, this.#options)
        : pickLeveledCompaction(input, this.#options);
      if (plan === undefined || !this.#keepsLevel0Order(plan)) return;
      if (!this.#start(plan)) return;
    }
  }

  /**
   * Level 0 is ordered by file number, newest first (invariant I7), so an output written to
   * level 0 must be newer than every level-0 file outside the compaction and older than every
   * flush still to come. Its number is taken now: that holds only when the inputs include the
   * newest level-0 file and no flush already holds a (lower) number for newer data.
   */
  #keepsLevel0Order(plan: CompactionPlan): boolean {
    if (plan.outputLevel !== 0) return true;
    const newest = this.#host.versions.current.files[0]![0];
    const l0Inputs = plan.inputs.find((l) => l.level === 0)?.files ?? [];
    return !this.#host.flushInFlight() && newest !== undefined && l0Inputs.some((f) => f.number === newest.number);
  }

  /** Runs `plan`: a trivial move at once, anything else as a job. False when it failed. */
  #start(plan: CompactionPlan): boolean {
    if (plan.compactPointer) this.#host.versions.compactPointers.set(plan.compactPointer.level, plan.compactPointer.key);
    if (plan.trivialMove) return this.#trivialMove(plan);
    const specs = this.#subcompactionRanges(plan).map((range) => this.#jobSpec(plan, range));
    let settle!: (err?: unknown) => void;
    const done = new Promise<void>((resolve, reject) => {
      settle = (err?: unknown) => (err === undefined ? resolve() : reject(err));
    });
    done.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
    const running: RunningCompaction = { plan, specs, results: [], done, settle };
    this.#running.add(running);
    for (const spec of specs) this.#byJob.set(spec.jobId, running);
    for (const spec of specs) this.#host.runner.submit({ type: 'compaction', spec });
    return true;
  }

  /** Compaction jobs submitted and not finished (a split compaction counts each range). */
  #busyJobs(): number {
    return this.#byJob.size;
  }

  /**
   * Key ranges to run `plan` in: one per idle compaction worker at most (maxSubcompactions),
   * each worth at least half a target-sized output file (below that a job's fixed cost outweighs
   * the gain). Level-0 outputs stay one job: their order in level
   * 0 is by file number, which disjoint parallel outputs would not need but the invariant checks.
   */
  #subcompactionRanges(plan: CompactionPlan): SubcompactionRange[] {
    const idle = this.#maxCompactions - this.#busyJobs();
    const max = Math.min(this.#maxSubcompactions, Math.max(1, idle));
    if (max < 2 || plan.outputLevel === 0) return [{ lower: undefined, upper: undefined }];
    const files = plan.inputs.flatMap((l) => l.files);
    return subcompactionRanges(files, max, Math.min(plan.maxOutputFileBytes, this.#options.targetFileSizeBase) / 2);
  }

  #trivialMove(plan: CompactionPlan): boolean {
    const edit = new VersionEdit();
    for (const { level, files } of plan.inputs) {
      for (const f of files) {
        edit.deletedFiles.push({ level, number: f.number });
        edit.newFiles.push({ level: plan.outputLevel, meta: f });
      }
    }
    if (plan.compactPointer) edit.compactPointers.push(plan.compactPointer);
    try {
      this.#host.versions.logAndApply(edit);
    } catch (err) {
      this.#host.fail(err);
      return false;
    }
    this.counters.trivialMoves++;
    this.#host.afterInstall();
    return true;
  }

  #jobSpec(plan: CompactionPlan, range: SubcompactionRange): CompactionJobSpec {
    const host = this.#host;
    const inputBytes = plan.inputs.reduce((n, l) => n + totalBytes(l.files), 0);
    const inputFiles = plan.inputs.reduce((n, l) => n + l.files.length, 0);
    // Outputs never outnumber this: size splits, grandparent splits, and slack for growth.
    const reserve = Math.ceil(inputBytes / Math.max(1, plan.maxOutputFileBytes)) + plan.grandparents.length + inputFiles + 4;
    const outputFileNumbers: number[] = [];
    for (let i = 0; i < reserve; i++) {
      const n = host.versions.newFileNumber();
      outputFileNumbers.push(n);
      host.pendingOutputs.add(n);
    }
    return {
      jobId: host.nextJobId(),
      dir: host.dir,
      inputs: plan.inputs,
      outputLevel: plan.outputLevel,
      outputFileNumbers,
      maxOutputFileBytes: plan.maxOutputFileBytes,
      grandparents: plan.grandparents,
      maxGrandparentOverlapBytes: plan.maxGrandparentOverlapBytes,
      snapshots: host.snapshotSequences(),
      bottommost: plan.bottommost,
      builder: host.builderOptionsFor(plan.outputLevel, plan.bottommost),
      readaheadBytes: this.#options.compactionReadaheadSize,
      ...(range.lower !== undefined ? { lowerBound: range.lower } : {}),
      ...(range.upper !== undefined ? { upperBound: range.upper } : {}),
      ...(host.mergeOperatorSpec ? { mergeOperatorSpec: host.mergeOperatorSpec } : {}),
      ...(host.compactionFilterSpec ? { compactionFilterSpec: host.compactionFilterSpec } : {}),
    };
  }

  /**
   * Takes a finished job (called by the database's result handler). A compaction is installed
   * when its last job reports; if any job failed, none of its outputs become live.
   */
  onResult(result: CompactionJobResult): void {
    const running = this.#byJob.get(result.jobId);
    if (running === undefined) return;
    this.#byJob.delete(result.jobId);
    running.results.push(result);
    if (running.results.length < running.specs.length) return;
    this.#running.delete(running);
    const release = (): void => {
      for (const spec of running.specs) for (const n of spec.outputFileNumbers) this.#host.pendingOutputs.delete(n);
    };
    const failed = running.results.find((r) => r.error !== undefined);
    if (failed?.error) {
      release();
      const err = new LsmError((failed.error.code as never) ?? 'LSM_IO', `compaction to level ${running.plan.outputLevel} failed: ${failed.error.message}`);
      this.#host.fail(err);
      running.settle(err);
      return;
    }
    try {
      this.#install(running.plan, running.results);
    } catch (err) {
      // The MANIFEST write may have reached the disk: keep the outputs until the next open decides.
      this.#host.fail(err);
      running.settle(err);
      return;
    }
    release();
    this.#count(running);
    running.settle();
    this.#host.afterInstall();
    this.maybeSchedule();
  }

  #count(running: RunningCompaction): void {
    const c = this.counters;
    c.count++;
    if (running.plan.reason === 'intraL0') c.intraL0++;
    if (running.specs.length > 1) c.subcompactions += running.specs.length;
    // Every job reports the whole compaction's input bytes; count them once.
    c.bytesRead += running.results[0]!.bytesRead;
    for (const r of running.results) {
      c.bytesWritten += r.bytesWritten;
      c.jobMicros += r.micros;
      c.inputEntries += r.stats?.inputEntries ?? 0;
    }
  }

  #install(plan: CompactionPlan, results: CompactionJobResult[]): void {
    const edit = new VersionEdit();
    for (const { level, files } of plan.inputs) for (const f of files) edit.deletedFiles.push({ level, number: f.number });
    for (const o of results.flatMap((r) => r.outputs)) {
      edit.newFiles.push({ level: plan.outputLevel, meta: { number: o.number, size: o.size, smallest: o.smallest, largest: o.largest } });
    }
    if (plan.compactPointer) edit.compactPointers.push(plan.compactPointer);
    this.#host.versions.logAndApply(edit);
  }

  // ------------------------------------------------------------------ write stalls

  /**
   * What the stall triggers compare, computed once per version (checked before every write):
   * level-0 files (leveled) or sorted runs (universal), and pending compaction bytes.
   */
  #stallInputs(): { level0Count: number; pendingBytes: number } {
    const version = this.#host.versions.current;
    if (this.#stallCache?.version !== version) {
      const files = version.files;
      const level0Count = this.#options.compactionStyle === 'universal'
        ? files[0]!.length + files.slice(1).filter((l) => l.length > 0).length
        : files[0]!.length;
      this.#stallCache = { version, level0Count, pendingBytes: pendingCompactionBytes(this.#pickerInput(), this.#options) };
    }
    return this.#stallCache;
  }

  #shouldStop(): boolean {
    const o = this.#options;
    const { level0Count, pendingBytes } = this.#stallInputs();
    return level0Count >= o.level0StopWritesTrigger || (o.hardPendingCompactionBytesLimit > 0 && pendingBytes >= o.hardPendingCompactionBytesLimit);
  }

  #shouldSlowDown(): boolean {
    const o = this.#options;
    const { level0Count, pendingBytes } = this.#stallInputs();
    return level0Count >= o.level0SlowdownWritesTrigger || (o.softPendingCompactionBytesLimit > 0 && pendingBytes >= o.softPendingCompactionBytesLimit);
  }

  /** Called before each write of `bytes`: blocks while compaction is too far behind. */
  beforeWrite(bytes: number): void {
    if (this.#disabled || this.#paused > 0) return;
    if (this.#shouldStop()) this.#stopUntilCaughtUp();
    else if (this.#shouldSlowDown()) this.#delay(bytes);
  }

  #stopUntilCaughtUp(): void {
    const started = performance.now();
    this.counters.stops++;
    while (this.#shouldStop() && !this.#host.failed()) {
      this.maybeSchedule();
      const first = this.#byJob.keys().next();
      if (first.done) break; // nothing can make progress; writing on beats deadlock
      this.#host.runner.waitSync(first.value);
    }
    this.counters.stopMicros += Math.round((performance.now() - started) * 1000);
  }

  #delay(bytes: number): void {
    this.counters.slowdownWrites++;
    this.#owedDelayMicros += (bytes / DELAYED_WRITE_BYTES_PER_SECOND) * 1e6;
    if (this.#owedDelayMicros < 1000) return;
    const ms = Math.floor(this.#owedDelayMicros / 1000);
    this.#owedDelayMicros -= ms * 1000;
    const started = performance.now();
    Atomics.wait(this.#sleeper, 0, 0, ms);
    this.#host.runner.poll(); // install what finished meanwhile
    this.counters.slowdownMicros += Math.round((performance.now() - started) * 1000);
  }

  // ------------------------------------------------------------------ manual compaction

  /** Waits for every running compaction. */
  async #drain(): Promise<void> {
    while (this.#running.size > 0) {
      await Promise.allSettled([...this.#running].map((r) => r.done));
    }
  }

  /**
   * Compacts every file overlapping [begin, end] (user keys) down to the last level, then
   * rewrites the last level's overlapping files in place, so everything droppable is dropped
   * (RocksDB's CompactRange with BottommostLevelCompaction::kForceOptimized). Automatic compactions
   * pause meanwhile.
   */
  compactRange(begin: Uint8Array | undefined, end: Uint8Array | undefined): Promise<void> {
    const run = this.#manualQueue.then(() => this.#compactRangeNow(begin, end));
    this.#manualQueue = run.catch(() => undefined);
    return run;
  }

  async #compactRangeNow(begin: Uint8Array | undefined, end: Uint8Array | undefined): Promise<void> {
    this.#paused++;
    try {
      await this.#drain();
      if (this.#options.compactionStyle === 'universal') {
        const plan = this.#universalFullPlan();
        if (plan !== undefined) await this.#runNow(plan);
      } else {
        await this.#leveledManual(begin, end);
      }
    } finally {
      this.#paused--;
    }
    this.maybeSchedule();
  }

  async #leveledManual(begin: Uint8Array | undefined, end: Uint8Array | undefined): Promise<void> {
    // Last-level files this call wrote with a bottommost compaction hold nothing droppable: the
    // final rewrite skips them (RocksDB's BottommostLevelCompaction::kForceOptimized).
    const fresh = new Set<number>();
    for (let level = 0; level < NUM_LEVELS - 1; level++) {
      for (;;) {
        if (this.#host.failed()) throw new LsmError('LSM_IO', 'background error during compactRange');
        const plan = pickManualCompaction(this.#pickerInput(), this.#options, level, begin, end);
        if (plan === undefined) break;
        const written = await this.#runNow(plan);
        if (plan.outputLevel === NUM_LEVELS - 1 && plan.bottommost) for (const n of written) fresh.add(n);
      }
    }
    for (const plan of this.#lastLevelPlans(begin, end, fresh)) await this.#runNow(plan);
  }

  /**
   * The last level's files overlapping [begin, end], except `skip`, rewritten into the same
   * level: one plan per unbroken run of them, so no output can span a skipped file's range.
   */
  #lastLevelPlans(begin: Uint8Array | undefined, end: Uint8Array | undefined, skip: ReadonlySet<number>): CompactionPlan[] {
    const last = NUM_LEVELS - 1;
    const lo = begin === undefined ? undefined : makeInternalKey(begin, 0, 0);
    const hi = end === undefined ? undefined : makeInternalKey(end, 0, 0);
    const runs: FileMetaData[][] = [[]];
    for (const f of overlappingFiles(this.#host.versions.current.files, last, lo, hi)) {
      if (skip.has(f.number)) runs.push([]);
      else runs[runs.length - 1]!.push(f);
    }
    const maxOutputFileBytes = targetFileSizeForLevel(this.#options, last, levelTargets(this.#host.versions.current.files, this.#options).baseLevel);
    return runs.filter((files) => files.length > 0).map((files) => ({
      reason: 'manual', inputs: [{ level: last, files }], outputLevel: last, trivialMove: false, grandparents: [],
      maxOutputFileBytes, maxGrandparentOverlapBytes: grandparentOverlapLimit(maxOutputFileBytes), bottommost: true, score: 0,
    }));
  }

  /** Universal's manual compaction: every sorted run into one run at the last level. */
  #universalFullPlan(): CompactionPlan | undefined {
    const inputs = this.#host.versions.current.files.map((files, level) => ({ level, files: [...files] })).filter((l) => l.files.length > 0);
    if (inputs.length === 0) return undefined;
    return {
      reason: 'manual', inputs, outputLevel: NUM_LEVELS - 1, trivialMove: false, grandparents: [],
      maxOutputFileBytes: Number.MAX_SAFE_INTEGER, maxGrandparentOverlapBytes: Number.MAX_SAFE_INTEGER,
      bottommost: true, score: 0,
    };
  }

  /** Runs `plan` to the end; returns the numbers of the files it wrote (none for a trivial move). */
  async #runNow(plan: CompactionPlan): Promise<number[]> {
    if (!this.#start(plan)) throw new LsmError('LSM_IO', 'manual compaction failed to start');
    if (plan.trivialMove) return [];
    const running = [...this.#running].find((r) => r.plan === plan);
    assert(running !== undefined, 'a started compaction is running');
    await running.done;
    return running.results.flatMap((r) => r.outputs.map((o) => o.number));
  }

  // ------------------------------------------------------------------ lifecycle and stats

  scores(): { level: number; score: number }[] {
    return levelScores(this.#pickerInput(), this.#options);
  }

  pendingCompactionBytes(): number {
    return this.#stallInputs().pendingBytes;
  }

  /**
   * Stops scheduling and waits for running compactions to finish and install (RocksDB's
   * CancelAllBackgroundWork(wait = true)), so close leaves no half-written table behind.
   */
  async stop(): Promise<void> {
    this.#disabled = true;
    await this.#drain();
  }

  /** Forgets running jobs (their outputs are orphans the next open deletes). */
  shutdown(): void {
    this.#disabled = true;
    for (const r of this.#running) r.settle(new LsmError('LSM_CLOSED', 'database closed during compaction'));
    this.#running.clear();
    this.#byJob.clear();
  }
}
