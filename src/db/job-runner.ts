/**
 * Runs background jobs (flushes, compactions) off the data path. Two implementations share
 * one contract:
 * - WorkerJobRunner: a pool of worker threads, for databases on the Node file system;
 * - InlineJobRunner: the main thread after the current turn (setImmediate), for file systems a
 *   worker cannot reach (the in-memory one in tests) and for user functions given as plain
 *   objects, which cannot cross to a worker.
 * Results are delivered through `onResult`, asynchronously or, when a writer stalls, from
 * inside `waitSync`, which blocks until the named job's result has been delivered.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { type CompactionFunctions, type CompactionJobResult, type CompactionJobSpec, runCompactionJob } from '../compaction/compaction-job.js';
import type { FileSystem } from '../fs/file-system.js';
import { type FlushJobResult, type FlushJobSpec, describeError, runFlushJob } from './flush-job.js';

export type JobSpec = { type: 'flush'; spec: FlushJobSpec } | { type: 'compaction'; spec: CompactionJobSpec };
export type JobResult = { type: 'flush'; result: FlushJobResult } | { type: 'compaction'; result: CompactionJobResult };

export interface JobRunner {
  submit(job: JobSpec): void;
  /** Blocks until `jobId`'s result has been passed to onResult (returns at once if unknown). */
  waitSync(jobId: number): void;
  /** Delivers any results that are ready, without blocking. */
  poll(): void;
  /**
   * poll(), but only when a worker has signalled a result since the last look: one atomic load
   * otherwise, cheap enough for every write and read. Results then install even while the
   * caller keeps the event loop busy (a tight write loop, a long scan).
   */
  pollIfSignalled(): void;
  close(): Promise<void>;
}

export type ResultHandler = (result: JobResult) => void;

export function jobIdOf(job: JobSpec): number {
  return job.spec.jobId;
}

/** The result a job reports when it throws (or its worker dies). */
export function failedResult(job: JobSpec, err: unknown): JobResult {
  const error = describeError(err);
  if (job.type === 'flush') {
    const s = job.spec;
    return { type: 'flush', result: { jobId: s.jobId, fileNumber: s.fileNumber, fileSize: 0, smallest: new Uint8Array(0), largest: new Uint8Array(0), properties: undefined, error } };
  }
  return { type: 'compaction', result: { jobId: job.spec.jobId, outputs: [], bytesRead: 0, bytesWritten: 0, micros: 0, stats: undefined, error } };
}

/** Runs a job on this thread. */
export function runJob(fs: FileSystem, job: JobSpec, functions: CompactionFunctions): JobResult {
  try {
    if (job.type === 'flush') return { type: 'flush', result: runFlushJob(fs, job.spec) };
    return { type: 'compaction', result: runCompactionJob(fs, job.spec, functions) };
  } catch (err) {
    return failedResult(job, err);
  }
}

/**
 * The compiled worker script. Tests run TypeScript sources directly, so from a .ts module we
 * fall back to the compiled copy under dist/ (npm test builds first).
 */
export function workerScriptUrl(): URL {
  const here = new URL('./flush-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const compiled = new URL(import.meta.url.replace(/\/src\/db\/job-runner\.ts$/, '/dist/src/db/flush-worker.js'));
  if (existsSync(fileURLToPath(compiled))) return compiled;
  throw new Error(`compiled background worker not found at ${fileURLToPath(compiled)}: run "npm run build"`);
}

interface WorkerSlot {
  worker: Worker;
  port: MessagePort;
  jobId: number | undefined;
}

export class WorkerJobRunner implements JobRunner {
  readonly #onResult: ResultHandler;
  readonly #poolSize: number;
  readonly #slots: WorkerSlot[] = [];
  readonly #queue: JobSpec[] = [];
  readonly #inFlight = new Map<number, JobSpec>();
  readonly #signal = new SharedArrayBuffer(4);
  readonly #counter = new Int32Array(this.#signal);
  /** The counter's value when results were last polled. */
  #polledAt = 0;

  constructor(onResult: ResultHandler, poolSize: number) {
    this.#onResult = onResult;
    this.#poolSize = Math.max(1, poolSize);
  }

  #startSlot(): WorkerSlot {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(workerScriptUrl(), { workerData: { port: port2, signal: this.#signal }, transferList: [port2] });
    worker.unref();
    const slot: WorkerSlot = { worker, port: port1, jobId: undefined };
    worker.on('error', (err) => this.#slotDied(slot, err));
    // A worker can also end without an error (process.exit in a user function).
    worker.on('exit', (code) => this.#slotDied(slot, new Error(`background worker exited with code ${code}`)));
    port1.on('message', (result: JobResult) => this.#deliver(slot, result));
    port1.unref();
    this.#slots.push(slot);
    return slot;
  }

  /** A dead worker must not strand its job: it gets an error result and the slot is replaced. */
  #slotDied(slot: WorkerSlot, err: unknown): void {
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    slot.port.close();
    const job = slot.jobId === undefined ? undefined : this.#inFlight.get(slot.jobId);
    if (job !== undefined) this.#deliver(slot, failedResult(job, err));
  }

  #deliver(slot: WorkerSlot, result: JobResult): void {
    const jobId = result.result.jobId;
    if (!this.#inFlight.delete(jobId)) return;
    slot.jobId = undefined;
    slot.port.unref();
    this.#dispatch();
    this.#onResult(result);
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.jobId === undefined);
      if (slot === undefined && this.#slots.length < this.#poolSize) slot = this.#startSlot();
      if (slot === undefined) return;
      const job = this.#queue.shift()!;
      slot.jobId = jobIdOf(job);
      // While a job runs, its result must keep the process alive (awaited flushes, close()).
      slot.port.ref();
      slot.port.postMessage(job);
    }
  }

  submit(job: JobSpec): void {
    this.#inFlight.set(jobIdOf(job), job);
    this.#queue.push(job);
    this.#dispatch();
  }

  pollIfSignalled(): void {
    const now = Atomics.load(this.#counter, 0);
    if (now === this.#polledAt) return;
    this.#polledAt = now;
    this.poll();
  }

  poll(): void {
    for (const slot of [...this.#slots]) {
      for (let msg = receiveMessageOnPort(slot.port); msg !== undefined; msg = receiveMessageOnPort(slot.port)) {
        this.#deliver(slot, msg.message as JobResult);
      }
    }
  }

  waitSync(jobId: number): void {
    while (this.#inFlight.has(jobId)) {
      const seen = Atomics.load(this.#counter, 0);
      this.poll();
      if (!this.#inFlight.has(jobId)) return;
      Atomics.wait(this.#counter, 0, seen, 1000);
    }
  }

  async close(): Promise<void> {
    const slots = this.#slots.splice(0);
    for (const s of slots) s.port.close();
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

export class InlineJobRunner implements JobRunner {
  readonly #fs: FileSystem;
  readonly #onResult: ResultHandler;
  readonly #functions: () => CompactionFunctions;
  readonly #queue = new Map<number, JobSpec>();

  constructor(fs: FileSystem, onResult: ResultHandler, functions: () => CompactionFunctions) {
    this.#fs = fs;
    this.#onResult = onResult;
    this.#functions = functions;
  }

  #run(jobId: number): void {
    const job = this.#queue.get(jobId);
    if (job === undefined) return;
    this.#queue.delete(jobId);
    this.#onResult(runJob(this.#fs, job, this.#functions()));
  }

  submit(job: JobSpec): void {
    const id = jobIdOf(job);
    this.#queue.set(id, job);
    setImmediate(() => this.#run(id));
  }

  waitSync(jobId: number): void {
    this.#run(jobId);
  }

  poll(): void {}

  pollIfSignalled(): void {}

  async close(): Promise<void> {
    this.#queue.clear();
  }
}
