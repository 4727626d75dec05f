/**
 * Worker-thread entry for background jobs (flushes and compactions). Receives job specs on a
 * MessagePort, runs them, posts the result, then bumps a shared counter and notifies, so the
 * main thread can also wait for a result synchronously (Atomics.wait + receiveMessageOnPort)
 * during a write stall.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import type { CompactionFunctions } from '../compaction/compaction-job.js';
import { type CompactionFilter, type MergeOperator, type UserFunctionSpec, loadUserFunction } from '../compaction/merge-operator.js';
import { nodeFileSystem } from '../fs/node-fs.js';
import { loadCodecs } from '../sstable/compression.js';
import { type JobSpec, failedResult, runJob } from './job-runner.js';

interface WorkerInit {
  port: MessagePort;
  signal: SharedArrayBuffer;
}

const { port, signal } = workerData as WorkerInit;
const counter = new Int32Array(signal);

await loadCodecs();

/** A user module written in TypeScript under src/ is loaded from its compiled copy under dist/. */
function compiledSpec(spec: UserFunctionSpec): UserFunctionSpec {
  const m = /^(file:.*)\/src\/(.*)\.ts$/.exec(spec.module);
  return m ? { ...spec, module: `${m[1]}/dist/src/${m[2]}.js` } : spec;
}

async function functionsFor(job: JobSpec): Promise<CompactionFunctions> {
  if (job.type !== 'compaction') return {};
  const { mergeOperatorSpec, compactionFilterSpec } = job.spec;
  return {
    mergeOperator: mergeOperatorSpec ? await loadUserFunction<MergeOperator>(compiledSpec(mergeOperatorSpec)) : undefined,
    compactionFilter: compactionFilterSpec ? await loadUserFunction<CompactionFilter>(compiledSpec(compactionFilterSpec)) : undefined,
  };
}

port.on('message', (job: JobSpec) => {
  functionsFor(job).then(
    (functions) => runJob(nodeFileSystem, job, functions),
    (err: unknown) => failedResult(job, err),
  ).then((result) => {
    port.postMessage(result);
    Atomics.add(counter, 0, 1);
    Atomics.notify(counter, 0);
  });
});
