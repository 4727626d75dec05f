/**
 * The entry of the checkpoint benchmark's worker threads (startRuns() in runner.ts starts them
 * with this module's URL): it receives the phases and the final state of the workload as the
 * generator publishes them and runs the codec × style workloads it is sent, one at a time.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { loadCodecs } from '../../src/sstable/compression.js';
import { runWorkload, type ToWorker, type WorkerInit, type WorkerReply } from './runner.js';
import { WorkloadFeed } from './workload.js';

if (!isMainThread && (workerData as Partial<WorkerInit> | null)?.ckbench === true) {
  // A worker thread of startRuns(): runs the workloads it is sent, one at a time.
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
}
