/**
 * Running the checkpoint benchmark's codec × style workloads: one database per workload replaying
 * the generated phases, both modes checkpointing the same pinned version after each phase, the
 * restore checks, the full compaction for S_c, and the ConfigResult of each mode; and startRuns(),
 * which runs up to `--jobs` workloads at once in worker threads (bench/checkpoint-bench/worker.ts
 * is their entry) or one after another in this thread.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  CheckpointStorage, Checkpointer, Database, WriteBatch,
  type DatabaseOptions, type DatabaseStats, type LiveFiles,
} from '../../src/index.js';
import {
  MiB, p50, tick,
  type ConfigResult, type IntervalRow, type KeepUp, type Mode, type PhaseMs, type WorkloadOutput, type WorkloadParams, type WorkloadSpec,
} from './common.js';
import { checkRestores, describePin, type PinnedVersion } from './restore.js';
import type { FinalState, PhaseSpec, WorkloadFeed } from './workload.js';

// ------------------------------------------------------------------------------------------
// One codec × style: one database, both modes checkpointing the same pinned versions

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

export async function runWorkload(spec: WorkloadSpec, wl: WorkloadFeed, p: WorkloadParams): Promise<WorkloadOutput> {
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
// Up to --jobs workloads at once in worker threads

export interface WorkerInit {
  ckbench: true;
  /** The batch buffer (a SharedArrayBuffer: shared, not copied). */
  batches: Uint8Array;
  params: WorkloadParams;
}

export type ToWorker = { run: WorkloadSpec } | { phase: PhaseSpec } | { final: FinalState };
export type WorkerReply = { ok: WorkloadOutput } | { error: string };

interface Runs {
  /** Hands a generated phase or the final state to the runs. */
  publish(what: { phase: PhaseSpec } | { final: FinalState }): void;
  finished: Promise<WorkloadOutput[]>;
}

/**
 * Starts the codec × style workloads, up to `jobs` at once in worker threads (in this thread when
 * jobs is 1). They start at once and replay each phase as soon as the generator publishes it.
 */
export function startRuns(
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
  const workers = Array.from({ length: Math.min(jobs, configs.length) }, () => new Worker(new URL('./worker.js', import.meta.url), { workerData: init }));
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
