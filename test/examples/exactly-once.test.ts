/**
 * The exactly-once example (examples/exactly-once) under failures: the job runs as a child
 * process that is SIGKILLed at random points (by itself at a chosen event, e.g. in the middle of
 * a checkpoint's uploads, or by this test after a random delay), restarted from the latest
 * completed checkpoint (at another parallelism in the rescaling case) until one run finishes.
 * Checked: every checkpoint a failed run leaves holds exactly the fold of the records before its
 * offsets (a consistent cut), and the final results equal a failure-free fold.
 *
 * The source and the kill plan come from one seed, printed with the history of the runs (and
 * in the error on failure); EXACTLY_ONCE_SEED=<seed> replays them (timing, and so the exact
 * interleaving, still varies). STRESS=1 runs a larger source with more kills.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointCoordinator, CheckpointStorage, KeyedStateBackend, Serializers } from '../../src/index.js';
import { readResults } from '../../examples/exactly-once/job.js';
import { Channel, KeyedOperator } from '../../examples/exactly-once/operator.js';
import { type SourceConfig, type SourceRecord, diffResults, expectedResults } from '../../examples/exactly-once/source.js';
import { STRESS, seededRandom } from '../helpers/fc-params.js';
import { tempDir } from '../helpers/temp-dir.js';

const MAIN = join(import.meta.dirname, '../../dist/examples/exactly-once/main.js');

// rate: records per second per source partition, so that a run spans several checkpoints.
const SIZE = STRESS
  ? { partitions: 4, recordsPerPartition: 20_000, keys: 500, rate: 8_000, intervalMs: 100, kills: 12, rescaleKills: 8, childTimeoutMs: 10 * 60_000 }
  : { partitions: 3, recordsPerPartition: 1_500, keys: 40, rate: 1_500, intervalMs: 50, kills: 4, rescaleKills: 3, childTimeoutMs: 60_000 };

const TIMEOUT = STRESS ? 60 * 60_000 : 120_000;

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** One run of the job; `killAfterMs`: SIGKILL it that long after its first line of output. */
function runChild(args: string[], killAfterMs?: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [MAIN, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timers: NodeJS.Timeout[] = [];
    timers.push(setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the job did not finish within ${SIZE.childTimeoutMs} ms; its output:\n${stdout}\n${stderr}`));
    }, SIZE.childTimeoutMs));
    child.stdout!.on('data', (d: Buffer) => {
      if (stdout === '' && killAfterMs !== undefined) timers.push(setTimeout(() => child.kill('SIGKILL'), killAfterMs));
      stdout += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The highest checkpoint id ever triggered and the latest completed one (0: none). */
async function checkpointIds(storage: CheckpointStorage): Promise<{ triggered: number; completed: number }> {
  const c = await CheckpointCoordinator.open({
    storage,
    job: 'exactly-once',
    participants: [{ name: 'inspector', snapshot: async () => null, discard: async () => undefined }],
  });
  try {
    return { triggered: c.nextCheckpointId - 1, completed: c.latest()?.checkpointId ?? 0 };
  } finally {
    await c.close();
  }
}

type Random = { nextInt: (n: number) => number };

/**
 * A random point to die at: an event of the job and how many of them to let pass. `soon`: within
 * the next checkpoint or so (so that the run rarely reaches its end first).
 */
function randomStage(r: Random, soon: boolean): string {
  const records = SIZE.partitions * SIZE.recordsPerPartition;
  switch (r.nextInt(5)) {
    case 0: return `record:${1 + r.nextInt(soon ? records / 10 : records / 2)}`;
    case 1: return `trigger:${1 + r.nextInt(soon ? 1 : 3)}`;
    case 2: return `aligned:${1 + r.nextInt(soon ? 2 : 6)}`;
    case 3: return `put:${1 + r.nextInt(soon ? 6 : 20)}`;
    default: return `completed:${1 + r.nextInt(soon ? 1 : 2)}`;
  }
}

interface Attempt {
  parallelism: number;
  killAt?: string;
  killAfterMs?: number;
}

interface Outcome {
  history: string[];
  killed: number;
  midCheckpointKills: number;
  /** "from -> to" parallelism changes seen on restore. */
  rescales: Set<string>;
}

/**
 * Runs the attempts (each is expected to be killed unless it finishes first), then one run
 * without failure at `finalParallelism`, checking every checkpoint left behind on the way and
 * the final results.
 */
async function runWithFailures(seed: number, attempts: Attempt[], finalParallelism: number): Promise<Outcome> {
  const tmp = tempDir('exactly-once-');
  cleanups.push(tmp.cleanup);
  const source: SourceConfig = { partitions: SIZE.partitions, recordsPerPartition: SIZE.recordsPerPartition, keys: SIZE.keys, seed };
  const storage = CheckpointStorage.directory(join(tmp.path, 'storage'));
  const args = (parallelism: number, schedulingSeed: number): string[] => [
    '--dir', tmp.path, '--parallelism', String(parallelism), '--partitions', String(source.partitions),
    '--records', String(source.recordsPerPartition), '--keys', String(source.keys), '--seed', String(seed),
    '--rate', String(SIZE.rate), '--checkpoint-interval', String(SIZE.intervalMs), '--scheduling-seed', String(schedulingSeed),
  ];
  const outcome: Outcome = { history: [], killed: 0, midCheckpointKills: 0, rescales: new Set() };
  const noteRestore = (stdout: string): string => {
    const m = /restoring checkpoint (\d+) .*parallelism (\d+) -> (\d+)/.exec(stdout);
    if (m === null) return 'started fresh';
    if (m[2] !== m[3]) outcome.rescales.add(`${m[2]} -> ${m[3]}`);
    return `restored checkpoint ${m[1]} (parallelism ${m[2]} -> ${m[3]})`;
  };
  let verified = 0;
  try {
    for (const [n, a] of attempts.entries()) {
      const how = a.killAt !== undefined ? `kill-at ${a.killAt}` : `SIGKILL after ${a.killAfterMs} ms`;
      const r = await runChild([...args(a.parallelism, seed + n), ...(a.killAt === undefined ? [] : ['--kill-at', a.killAt])], a.killAfterMs);
      if (r.code !== 0 && r.signal !== 'SIGKILL') throw new Error(`attempt ${n} failed (code ${r.code}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
      const ids = await checkpointIds(storage);
      const mid = r.signal === 'SIGKILL' && ids.triggered > ids.completed;
      if (r.signal === 'SIGKILL') outcome.killed++;
      if (mid) outcome.midCheckpointKills++;
      outcome.history.push(
        `attempt ${n}: parallelism ${a.parallelism}, ${how}: ${noteRestore(r.stdout)}, ${r.signal === 'SIGKILL' ? 'killed' : 'finished'}; ` +
        `latest completed checkpoint ${ids.completed}, last triggered ${ids.triggered}${mid ? ' (killed mid-checkpoint)' : ''}`,
      );
      // The latest checkpoint is a consistent cut: its state is the fold of the records before its offsets.
      if (ids.completed > verified) {
        const c = await readResults(storage, join(tmp.path, `verify-${n}`), { partitions: source.partitions, checkpointId: ids.completed });
        expect(diffResults(c.results, expectedResults(source, c.offsets)), `checkpoint ${c.checkpointId} at offsets ${c.offsets.join(',')}`).toEqual([]);
        verified = ids.completed;
      }
    }
    const r = await runChild(args(finalParallelism, seed + attempts.length));
    if (r.code !== 0) throw new Error(`the final run failed (code ${r.code}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
    outcome.history.push(`final run: parallelism ${finalParallelism}: ${noteRestore(r.stdout)}, finished`);
    const line = r.stdout.split('\n').find((l) => l.startsWith('result '));
    const result = JSON.parse(line!.slice('result '.length)) as { finalCheckpointId: number };
    const final = await readResults(storage, join(tmp.path, 'verify-final'), { partitions: source.partitions });
    expect(final.checkpointId).toBe(result.finalCheckpointId);
    expect(final.offsets).toEqual(new Array(source.partitions).fill(source.recordsPerPartition));
    expect(diffResults(final.results, expectedResults(source)), 'final results against a failure-free fold').toEqual([]);
    return outcome;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`seed ${seed} (rerun with EXACTLY_ONCE_SEED=${seed}): ${message}\n${outcome.history.join('\n')}`, { cause: err });
  }
}

function testSeed(): number {
  const s = process.env['EXACTLY_ONCE_SEED'];
  return s === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(s);
}

describe('exactly-once example', () => {
  it.runIf(!existsSync(MAIN))('needs the build (npm run build)', () => {
    throw new Error(`${MAIN} is missing: run npm run build first`);
  });

  it('an operator blocks a channel after its barrier until every channel delivered it', async () => {
    const tmp = tempDir('exactly-once-');
    cleanups.push(tmp.cleanup);
    const backend = await KeyedStateBackend.open({
      dir: join(tmp.path, 'op-0'), maxParallelism: 128, keyGroupRange: { start: 0, end: 127 }, keySerializer: Serializers.string,
      checkpointStorage: CheckpointStorage.directory(join(tmp.path, 'storage')), name: 'op-0',
    });
    try {
      const inputs = [new Channel(), new Channel()];
      const op = new KeyedOperator(0, backend, inputs);
      const ack = op.participant().snapshot(1);
      const record = (partition: number, offset: number): { kind: 'record'; record: SourceRecord } =>
        ({ kind: 'record', record: { partition, offset, key: 'k', amount: 1 } });
      inputs[0]!.push(record(0, 0));
      inputs[0]!.push({ kind: 'barrier', checkpointId: 1 });
      inputs[0]!.push(record(0, 1)); // after the barrier: belongs to checkpoint 2
      inputs[1]!.push(record(1, 0));
      expect(op.step(100)).toBe(2); // 0:0 and 1:0; channel 0 is blocked at its barrier
      expect(inputs[0]!.length).toBe(1);
      expect(op.busy).toBe(false);
      inputs[1]!.push(record(1, 1));
      inputs[1]!.push({ kind: 'barrier', checkpointId: 1 });
      expect(op.step(100)).toBe(1); // 1:1, then barrier 1 on channel 1: aligned, checkpointing
      expect(op.busy).toBe(true);
      const handle = await ack;
      await op.idle();
      expect(op.step(100)).toBe(1); // 0:1, unblocked
      expect(op.states.events.get('k').sort()).toEqual(['0:0', '0:1', '1:0', '1:1']);
      const restored = await KeyedStateBackend.restore({
        dir: join(tmp.path, 'restored'), maxParallelism: 128, keyGroupRange: { start: 0, end: 127 }, keySerializer: Serializers.string,
        restoreStorage: CheckpointStorage.directory(join(tmp.path, 'storage')), handles: [handle],
      });
      const events = restored.listState({ name: 'events', elementSerializer: Serializers.string }).get('k');
      await restored.close();
      expect(events.sort()).toEqual(['0:0', '1:0', '1:1']); // checkpoint 1 holds what came before the barriers
    } finally {
      await backend.close();
    }
  });

  it('killed at random points (also mid-checkpoint), restored and replayed, ends with the failure-free results', { timeout: TIMEOUT }, async () => {
    const seed = testSeed();
    const r = seededRandom(seed);
    const attempts: Attempt[] = Array.from({ length: SIZE.kills }, (_, i): Attempt => {
      // The first two die inside a checkpoint for sure: after its trigger was recorded, before it completed.
      if (i === 0) return { parallelism: 2, killAt: `trigger:${1 + r.nextInt(2)}` };
      if (i === 1) return { parallelism: 2, killAt: `aligned:${1 + r.nextInt(3)}` };
      if (r.nextInt(4) === 0) return { parallelism: 2, killAfterMs: r.nextInt(1_500) };
      return { parallelism: 2, killAt: randomStage(r, false) };
    });
    const outcome = await runWithFailures(seed, attempts, 2);
    console.log(`exactly-once, seed ${seed}:\n${outcome.history.join('\n')}`);
    expect(outcome.killed, `seed ${seed}`).toBeGreaterThanOrEqual(2);
    expect(outcome.midCheckpointKills, `seed ${seed}`).toBeGreaterThanOrEqual(1);
  });

  it('rescales on restore (2 -> 3 -> 2 ...), killed at random points, ends with the failure-free results', { timeout: TIMEOUT }, async () => {
    const seed = testSeed();
    const r = seededRandom(seed);
    // Every attempt first completes a checkpoint at its parallelism, so the next one rescales it.
    const attempts: Attempt[] = Array.from({ length: SIZE.rescaleKills }, (_, i) => ({
      parallelism: i % 2 === 0 ? 2 : 3,
      killAt: `completed:1+${randomStage(r, true)}`,
    }));
    const finalParallelism = SIZE.rescaleKills % 2 === 0 ? 2 : 3;
    const outcome = await runWithFailures(seed, attempts, finalParallelism);
    console.log(`exactly-once with rescaling, seed ${seed}:\n${outcome.history.join('\n')}`);
    expect([...outcome.rescales].sort(), `seed ${seed}`).toEqual(['2 -> 3', '3 -> 2']);
  });
});
