/**
 * The job: wires sources, channels, operators and the coordinator, starts fresh or restores
 * from the latest completed checkpoint (at any parallelism), runs until the source is exhausted
 * and a final checkpoint holds every record, and reads results back from a checkpoint.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CheckpointCoordinator, type CheckpointParticipant, CheckpointStorage, type CompletedCheckpoint, KeyedStateBackend,
  type KeyedStateHandle, LsmError, Serializers, keyGroupRangeForOperator,
} from '../../src/index.js';
import { Channel, KeyedOperator, SourceTask, type SourceHandle, readStates, registerStates, router } from './operator.js';
import type { KeyResult, SourceConfig } from './source.js';

export const DEFAULT_JOB = 'exactly-once';
export const DEFAULT_MAX_PARALLELISM = 128;

export type JobEvent =
  | { kind: 'record' }
  | { kind: 'trigger'; checkpointId: number }
  | { kind: 'aligned'; operator: number; checkpointId: number }
  | { kind: 'completed'; checkpointId: number }
  | { kind: 'aborted'; checkpointId: number };

export interface JobOptions {
  /** Working directory: the checkpoint storage (storage/, unless `storage` is given) and each run's databases (run-XXXXXX/op-i). */
  dir: string;
  source: SourceConfig;
  /** Number of keyed operators in this run (may differ from the checkpoint restored: rescaling). */
  parallelism: number;
  /** Key groups; fixed for the life of the job. Default 128. */
  maxParallelism?: number;
  /** The coordinator triggers a checkpoint this often (skipping a tick while one is in flight). Default 100. */
  checkpointIntervalMs?: number;
  /** Records each source partition emits per second at most, as a live stream; default unlimited. */
  recordsPerSecond?: number;
  job?: string;
  storage?: CheckpointStorage;
  /** Seeds batch sizes and task order, i.e. how records and barriers interleave. */
  schedulingSeed?: number;
  /** Records a source partition may have queued towards one operator before it waits (backpressure). Default 256. */
  channelCapacity?: number;
  log?: (line: string) => void;
  /** Observation and fault-injection hook. */
  onEvent?: (e: JobEvent) => void;
  /** Stop abruptly (no final checkpoint) once this run emitted this many records: an in-process failure for the demo. */
  stopAfterRecords?: number;
}

export interface JobRun {
  /** The checkpoint this run restored from, if any, and the parallelism it was taken with. */
  restoredFrom: { checkpointId: number; parallelism: number; offsets: number[] } | undefined;
  /** The final checkpoint (every record in it), unless stopped early. */
  finalCheckpointId: number | undefined;
  recordsEmitted: number;
}

/** The latest completed checkpoint of the job, or undefined when there is none yet. */
export async function latestCheckpoint(storage: CheckpointStorage, job = DEFAULT_JOB): Promise<CompletedCheckpoint | undefined> {
  try {
    return await CheckpointCoordinator.loadCompleted(storage, job, 'latest');
  } catch (err) {
    if (LsmError.is(err, 'LSM_NOT_FOUND')) return undefined;
    throw err;
  }
}

/** A completed checkpoint's source offsets (by partition) and operator handles. */
export function checkpointParts(c: CompletedCheckpoint, partitions: number): { offsets: number[]; operatorHandles: KeyedStateHandle[] } {
  const offsets: number[] = [];
  for (let p = 0; p < partitions; p++) {
    const h = c.handles[`source-${p}`] as SourceHandle | undefined;
    if (h?.partition !== p || !Number.isSafeInteger(h.offset)) throw new Error(`checkpoint ${c.checkpointId} has no offset for source-${p}`);
    offsets.push(h.offset);
  }
  const operatorHandles = Object.entries(c.handles)
    .filter(([name]) => /^op-\d+$/.test(name))
    .map(([, h]) => h as KeyedStateHandle);
  return { offsets, operatorHandles };
}

function seededRandom(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
}

function shuffled<T>(items: readonly T[], random: (n: number) => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runJob(options: JobOptions): Promise<JobRun> {
  const { source: config, parallelism } = options;
  const job = options.job ?? DEFAULT_JOB;
  const maxParallelism = options.maxParallelism ?? DEFAULT_MAX_PARALLELISM;
  const intervalMs = options.checkpointIntervalMs ?? 100;
  const rate = options.recordsPerSecond ?? Infinity;
  const capacity = options.channelCapacity ?? 256;
  const log = options.log ?? (() => undefined);
  const emit = options.onEvent ?? (() => undefined);
  const random = seededRandom(options.schedulingSeed ?? 1);
  await mkdir(options.dir, { recursive: true });
  const storage = options.storage ?? CheckpointStorage.directory(join(options.dir, 'storage'));

  // 1. Where to start: the latest completed checkpoint, or the beginning.
  const latest = await latestCheckpoint(storage, job);
  const parts = latest === undefined ? undefined : checkpointParts(latest, config.partitions);
  const offsets = parts?.offsets ?? new Array<number>(config.partitions).fill(0);
  const restoredFrom = latest === undefined || parts === undefined
    ? undefined
    : { checkpointId: latest.checkpointId, parallelism: parts.operatorHandles.length, offsets };
  if (restoredFrom === undefined) log(`starting fresh with parallelism ${parallelism}`);
  else log(`restoring checkpoint ${restoredFrom.checkpointId} (offsets ${offsets.join(',')}), parallelism ${restoredFrom.parallelism} -> ${parallelism}`);

  // 2. Tasks. Fresh directories every run: a run never trusts what a failed one left on disk.
  const runDir = await mkdtemp(join(options.dir, 'run-'));
  const channels = offsets.map(() => Array.from({ length: parallelism }, () => new Channel()));
  const route = router(maxParallelism, parallelism);
  const sources = offsets.map((offset, p) => new SourceTask(config, p, offset, channels[p]!, route, () => emit({ kind: 'record' })));
  const operators: KeyedOperator[] = [];
  try {
    for (let i = 0; i < parallelism; i++) {
      const backendOptions = {
        dir: join(runDir, `op-${i}`),
        maxParallelism,
        keyGroupRange: keyGroupRangeForOperator(maxParallelism, parallelism, i),
        keySerializer: Serializers.string,
        checkpointStorage: storage,
        name: `op-${i}`, // the chain name = the participant name
        retainCheckpoints: Infinity, // the coordinator decides what to keep
      };
      const backend = parts === undefined
        ? await KeyedStateBackend.open(backendOptions)
        // Every old operator's handle: restore keeps the key groups of the new range (rescaling).
        // 'claim': the job owns its checkpoints, so the new backends may delete the restored one
        // once the coordinator subsumes it.
        : await KeyedStateBackend.restore({ ...backendOptions, handles: parts.operatorHandles, restoreMode: 'claim' });
      operators.push(new KeyedOperator(i, backend, channels.map((c) => c[i]!), (id) => emit({ kind: 'aligned', operator: i, checkpointId: id })));
    }
  } catch (err) {
    for (const op of operators) await op.backend.close();
    throw err;
  }

  // 3. The coordinator: the sources first, so barriers are injected as early as possible.
  const first = sources[0]!;
  const participants: CheckpointParticipant[] = [
    {
      name: first.name,
      snapshot: (id) => {
        emit({ kind: 'trigger', checkpointId: id });
        log(`checkpoint ${id} triggered`);
        return first.snapshot(id);
      },
      discard: () => first.discard(),
    },
    ...sources.slice(1),
    ...operators.map((op) => op.participant()),
  ];
  const coordinator = await CheckpointCoordinator.open({
    storage,
    job,
    participants,
    retain: 2,
    timeoutMs: 60_000,
    intervalMs,
    onCompleted: (c) => {
      log(`checkpoint ${c.checkpointId} completed (offsets ${checkpointParts(c, config.partitions).offsets.join(',')})`);
      emit({ kind: 'completed', checkpointId: c.checkpointId });
    },
    onAborted: (id, reason) => {
      log(`checkpoint ${id} aborted: ${reason instanceof Error ? reason.message : String(reason)}`);
      emit({ kind: 'aborted', checkpointId: id });
    },
  }).catch(async (err: unknown) => {
    for (const op of operators) await op.backend.close();
    throw err;
  });

  // 4. Run: sources emit, operators process, in small random batches; the coordinator checkpoints periodically.
  let emitted = 0;
  let final: Promise<unknown> | undefined;
  let finalCheckpointId: number | undefined;
  let nextProgress = 0;
  const total = config.partitions * config.recordsPerPartition;
  const started = performance.now();
  coordinator.start();
  try {
    while (finalCheckpointId === undefined) {
      let progress = 0;
      const due = rate === Infinity ? Infinity : (rate * (performance.now() - started)) / 1000;
      for (const s of shuffled(sources, random)) {
        const allowed = Math.min(1 + random(32), Math.floor(due) - (s.offset - offsets[s.partition]!));
        const n = s.step(Math.max(0, allowed), capacity); // step(0) still injects a pending barrier
        emitted += n;
        progress += n;
      }
      for (const op of shuffled(operators, random)) progress += op.step(1 + random(48));
      if (options.stopAfterRecords !== undefined && emitted >= options.stopAfterRecords) {
        log(`stopping abruptly after ${emitted} records (no final checkpoint)`);
        break;
      }
      if (final === undefined && sources.every((s) => s.exhausted)) {
        // Barriers of a checkpoint triggered now follow every record: it holds the final results.
        coordinator.stop();
        final = coordinator.triggerCheckpoint().then(
          (c) => {
            finalCheckpointId = c.checkpointId;
          },
          () => {
            final = undefined; // aborted: trigger again
          },
        );
      }
      const position = sources.reduce((a, s) => a + s.offset, 0);
      if (position >= nextProgress) {
        log(`progress: ${position}/${total} records emitted, ${operators.map((op) => `${op.name} processed ${op.processed}`).join(', ')}`);
        nextProgress = position + Math.max(1, Math.floor(total / 10));
      }
      if (progress === 0) await sleep(1);
      else await tick();
    }
  } finally {
    await coordinator.close(); // aborts a checkpoint still in flight
    for (const op of operators) await op.idle();
    for (const op of operators) await op.backend.close();
  }
  if (finalCheckpointId !== undefined) log(`finished: checkpoint ${finalCheckpointId} holds every record`);
  return { restoredFrom, finalCheckpointId, recordsEmitted: emitted };
}

/**
 * The per-key results held by a completed checkpoint (default: the latest), read by restoring
 * every operator's handle into one backend owning all key groups, in `dir` (absent or empty).
 */
export async function readResults(
  storage: CheckpointStorage,
  dir: string,
  options: { partitions: number; job?: string; maxParallelism?: number; checkpointId?: number | 'latest' },
): Promise<{ checkpointId: number; offsets: number[]; results: Map<string, KeyResult> }> {
  const maxParallelism = options.maxParallelism ?? DEFAULT_MAX_PARALLELISM;
  const c = await CheckpointCoordinator.loadCompleted(storage, options.job ?? DEFAULT_JOB, options.checkpointId ?? 'latest');
  const { offsets, operatorHandles } = checkpointParts(c, options.partitions);
  const backend = await KeyedStateBackend.restore({
    dir,
    maxParallelism,
    keyGroupRange: { start: 0, end: maxParallelism - 1 },
    keySerializer: Serializers.string,
    restoreStorage: storage,
    handles: operatorHandles,
    name: 'verify',
  });
  try {
    return { checkpointId: c.checkpointId, offsets, results: readStates(registerStates(backend)) };
  } finally {
    await backend.close();
  }
}
