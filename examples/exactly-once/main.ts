/**
 * Command line of the exactly-once example.
 *
 *   node dist/examples/exactly-once/main.js demo
 *       A run that fails half way at parallelism 2, a restore at parallelism 3 that replays from
 *       the checkpointed offsets, and a check against a failure-free in-memory fold.
 *
 *   node dist/examples/exactly-once/main.js run --dir D [--parallelism 2] [--partitions 3]
 *       [--records 2000] [--keys 40] [--seed 1] [--checkpoint-interval 100] [--rate N]
 *       [--scheduling-seed 1]
 *       [--kill-at EVENT:N[+EVENT:N...]]
 *       One run of the job (what the test starts as a child process and SIGKILLs): restores from
 *       the latest completed checkpoint in D/storage if there is one, runs to the end, prints
 *       `result {json}`. --rate: records per second per source partition (default unlimited);
 *       --checkpoint-interval in ms. --kill-at makes the process SIGKILL itself at the N-th EVENT (counted
 *       from the previous stage, if several): record (emitted), trigger (checkpoint triggered),
 *       aligned (an operator aligned its barriers), put (a write to the checkpoint storage is
 *       about to start), completed (a checkpoint completed), aborted. E.g. completed:1+put:3.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CheckpointStorage } from '../../src/index.js';
import { type JobEvent, readResults, runJob } from './job.js';
import { type SourceConfig, diffResults, expectedResults } from './source.js';

type KillEvent = JobEvent['kind'] | 'put';

/** `EVENT:N[+EVENT:N...]`: SIGKILL this process at the N-th EVENT (counted after the previous stage was reached). */
function killAt(spec: string | undefined): (event: KillEvent) => void {
  if (spec === undefined) return () => undefined;
  const stages = spec.split('+').map((stage) => {
    const m = /^(record|trigger|aligned|completed|aborted|put):([1-9]\d*)$/.exec(stage);
    if (m === null) throw new RangeError(`--kill-at must be EVENT:N[+EVENT:N...], got ${spec}`);
    return { event: m[1] as KillEvent, remaining: Number(m[2]) };
  });
  return (event) => {
    const stage = stages[0];
    if (stage === undefined || event !== stage.event || --stage.remaining > 0) return;
    stages.shift();
    if (stages.length === 0) {
      process.stdout.write(`killing myself at ${spec}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  };
}

/** The storage, with a hook before every write (to kill the process in the middle of a checkpoint). */
function hookedStorage(storage: CheckpointStorage, beforePut: () => void): CheckpointStorage {
  return {
    description: storage.description,
    putFile: async (name, localPath) => {
      beforePut();
      await storage.putFile(name, localPath);
    },
    putBytes: async (name, data) => {
      beforePut();
      await storage.putBytes(name, data);
    },
    getBytes: (name) => storage.getBytes(name),
    downloadFile: (name, localPath) => storage.downloadFile(name, localPath),
    list: (prefix) => storage.list(prefix),
    delete: (name) => storage.delete(name),
    close: () => storage.close(),
  };
}

async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string' },
      parallelism: { type: 'string', default: '2' },
      partitions: { type: 'string', default: '3' },
      records: { type: 'string', default: '2000' },
      keys: { type: 'string', default: '40' },
      seed: { type: 'string', default: '1' },
      'checkpoint-interval': { type: 'string', default: '100' },
      rate: { type: 'string' },
      'scheduling-seed': { type: 'string', default: '1' },
      'kill-at': { type: 'string' },
    },
  });
  if (values.dir === undefined) throw new RangeError('--dir is required');
  const int = (name: keyof typeof values): number => {
    const n = Number(values[name]);
    if (!Number.isSafeInteger(n)) throw new RangeError(`--${name} must be an integer`);
    return n;
  };
  const kill = killAt(values['kill-at']);
  const storage = hookedStorage(CheckpointStorage.directory(join(values.dir, 'storage')), () => kill('put'));
  const r = await runJob({
    dir: values.dir,
    storage,
    source: { partitions: int('partitions'), recordsPerPartition: int('records'), keys: int('keys'), seed: int('seed') },
    parallelism: int('parallelism'),
    checkpointIntervalMs: int('checkpoint-interval'),
    ...(values.rate === undefined ? {} : { recordsPerSecond: int('rate') }),
    schedulingSeed: int('scheduling-seed'),
    log: (line) => process.stdout.write(`${line}\n`),
    onEvent: (e) => kill(e.kind),
  });
  process.stdout.write(`result ${JSON.stringify(r)}\n`);
}

async function demo(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'exactly-once-'));
  const log = (line: string): void => console.log(`  ${line}`);
  const source: SourceConfig = { partitions: 3, recordsPerPartition: 5000, keys: 50, seed: 42 };
  try {
    console.log(`exactly-once demo in ${dir}: ${source.partitions} partitions x ${source.recordsPerPartition} records, ${source.keys} keys`);
    console.log('run 1: parallelism 2, fails after 8000 records');
    await runJob({ dir, source, parallelism: 2, recordsPerSecond: 4000, stopAfterRecords: 8000, log });
    console.log('run 2: restores the last completed checkpoint at parallelism 3 and replays the source from its offsets');
    const r = await runJob({ dir, source, parallelism: 3, recordsPerSecond: 4000, log, schedulingSeed: 2 });
    const storage = CheckpointStorage.directory(join(dir, 'storage'));
    const { checkpointId, results } = await readResults(storage, join(dir, 'verify'), { partitions: source.partitions });
    const expected = expectedResults(source);
    const diff = diffResults(results, expected);
    console.log(`checkpoint ${checkpointId} (run 2 emitted ${r.recordsEmitted} records) holds ${results.size} keys; a failure-free fold has ${expected.size}`);
    for (const key of ['key-0', 'key-1', 'key-2', 'key-10']) {
      const k = results.get(key);
      if (k !== undefined) console.log(`  ${key}: sum ${k.sum}, count ${k.count}, last offsets ${JSON.stringify(k.lastOffsets)}`);
    }
    if (diff.length > 0) {
      console.log(`NOT exactly once:\n${diff.join('\n')}`);
      process.exitCode = 1;
    } else {
      console.log('exactly once: every key equals the failure-free fold');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const [command, ...rest] = process.argv.slice(2);
const main = command === 'run' ? run(rest) : command === 'demo' || command === undefined ? demo() : Promise.reject(new RangeError(`unknown command ${command}; use demo or run`));
main.catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
