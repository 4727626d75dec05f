/**
 * Worker-thread entry for background jobs. Receives job specs on a MessagePort, runs them,
 * posts the result, then bumps a shared counter and notifies, so the main thread can also
 * wait for a result synchronously (Atomics.wait + receiveMessageOnPort) during a write stall.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { nodeFileSystem } from '../fs/node-fs.js';
import { loadCodecs } from '../sstable/compression.js';
import { type FlushJobSpec, describeError, runFlushJob } from './flush-job.js';

interface WorkerInit {
  port: MessagePort;
  signal: SharedArrayBuffer;
}

const { port, signal } = workerData as WorkerInit;
const counter = new Int32Array(signal);

await loadCodecs();

port.on('message', (spec: FlushJobSpec) => {
  let result;
  try {
    result = runFlushJob(nodeFileSystem, spec);
  } catch (err) {
    result = { jobId: spec.jobId, fileNumber: spec.fileNumber, fileSize: 0, smallest: new Uint8Array(0), largest: new Uint8Array(0), properties: undefined, error: describeError(err) };
  }
  port.postMessage(result);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
});
