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

/** lsm-state's package root (this file is dist/src/db/flush-worker.js). */
const PACKAGE_ROOT = new URL('../../../', import.meta.url).href;

/**
 * lsm-state's own built-in operators, named by their TypeScript source when tests run from src/,
 * load from the compiled copy under dist/. Other modules load as given.
 */
function compiledSpec(spec: UserFunctionSpec): UserFunctionSpec {
  const own = `${PACKAGE_ROOT}src/`;
  if (!spec.module.startsWith(own) || !spec.module.endsWith('.ts')) return spec;
  return { ...spec, module: `${PACKAGE_ROOT}dist/src/${spec.module.slice(own.length, -3)}.js` };
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
