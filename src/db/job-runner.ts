/**
 * Runs background jobs off the data path. Two implementations share one contract:
 * - WorkerJobRunner: a worker thread (the second core) for databases on the Node file system;
 * - InlineJobRunner: the main thread after the current turn (setImmediate), for file systems a
 *   worker cannot reach (the in-memory one in tests).
 * Results are delivered through `onResult`, asynchronously or, when a writer stalls, from
 * inside `waitSync`, which blocks until the named job's result has been delivered.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { FileSystem } from '../fs/file-system.js';
import { type FlushJobResult, type FlushJobSpec, describeError, runFlushJob } from './flush-job.js';

export interface JobRunner {
  submit(spec: FlushJobSpec): void;
  /** Blocks until `jobId`'s result has been passed to onResult. */
  waitSync(jobId: number): void;
  close(): Promise<void>;
}

export type ResultHandler = (result: FlushJobResult) => void;

/**
 * The compiled worker script. Tests run TypeScript sources directly, so from a .ts module we
 * fall back to the compiled copy under dist/ (npm test builds first).
 */
export function workerScriptUrl(): URL {
  const here = new URL('./flush-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const compiled = new URL(import.meta.url.replace(/\/src\/db\/job-runner\.ts$/, '/dist/src/db/flush-worker.js'));
  if (existsSync(fileURLToPath(compiled))) return compiled;
  throw new Error(`compiled flush worker not found at ${fileURLToPath(compiled)}: run "npm run build"`);
}

export class WorkerJobRunner implements JobRunner {
  readonly #onResult: ResultHandler;
  #worker: Worker | undefined;
  #port: MessagePort | undefined;
  readonly #signal = new SharedArrayBuffer(4);
  readonly #counter = new Int32Array(this.#signal);
  readonly #inFlight = new Map<number, FlushJobSpec>();

  constructor(onResult: ResultHandler) {
    this.#onResult = onResult;
  }

  #start(): MessagePort {
    if (this.#port) return this.#port;
    const { port1, port2 } = new MessageChannel();
    this.#worker = new Worker(workerScriptUrl(), { workerData: { port: port2, signal: this.#signal }, transferList: [port2] });
    this.#worker.unref();
    this.#worker.on('error', (err) => this.#failInFlight(err));
    port1.on('message', (result: FlushJobResult) => this.#deliver(result));
    port1.unref();
    this.#port = port1;
    return port1;
  }

  /** A dead worker must not strand its jobs: each gets an error result, and the next submit restarts it. */
  #failInFlight(err: unknown): void {
    this.#port?.close();
    this.#port = undefined;
    this.#worker = undefined;
    for (const spec of [...this.#inFlight.values()]) {
      this.#deliver({ jobId: spec.jobId, fileNumber: spec.fileNumber, fileSize: 0, smallest: new Uint8Array(0), largest: new Uint8Array(0), properties: undefined, error: describeError(err) });
    }
  }

  #deliver(result: FlushJobResult): void {
    if (!this.#inFlight.delete(result.jobId)) return;
    if (this.#inFlight.size === 0) this.#port?.unref();
    this.#onResult(result);
  }

  submit(spec: FlushJobSpec): void {
    this.#inFlight.set(spec.jobId, spec);
    const port = this.#start();
    // While a job runs, its result must keep the process alive (awaited flushes, close()).
    port.ref();
    port.postMessage(spec);
  }

  waitSync(jobId: number): void {
    const port = this.#start();
    while (this.#inFlight.has(jobId)) {
      const seen = Atomics.load(this.#counter, 0);
      const msg = receiveMessageOnPort(port);
      if (msg !== undefined) {
        this.#deliver(msg.message as FlushJobResult);
        continue;
      }
      Atomics.wait(this.#counter, 0, seen, 1000);
    }
  }

  async close(): Promise<void> {
    this.#port?.close();
    await this.#worker?.terminate();
    this.#worker = undefined;
    this.#port = undefined;
  }
}

export class InlineJobRunner implements JobRunner {
  readonly #fs: FileSystem;
  readonly #onResult: ResultHandler;
  readonly #queue = new Map<number, FlushJobSpec>();

  constructor(fs: FileSystem, onResult: ResultHandler) {
    this.#fs = fs;
    this.#onResult = onResult;
  }

  #run(jobId: number): void {
    const spec = this.#queue.get(jobId);
    if (spec === undefined) return;
    this.#queue.delete(jobId);
    let result: FlushJobResult;
    try {
      result = runFlushJob(this.#fs, spec);
    } catch (err) {
      result = { jobId, fileNumber: spec.fileNumber, fileSize: 0, smallest: new Uint8Array(0), largest: new Uint8Array(0), properties: undefined, error: describeError(err) };
    }
    this.#onResult(result);
  }

  submit(spec: FlushJobSpec): void {
    this.#queue.set(spec.jobId, spec);
    setImmediate(() => this.#run(spec.jobId));
  }

  waitSync(jobId: number): void {
    this.#run(jobId);
  }

  async close(): Promise<void> {
    this.#queue.clear();
  }
}
