/**
 * A Flink-style checkpoint coordinator (docs/checkpoint-coordinator.md): checkpoint N of a job
 * across several participants (keyed-state backends, sources recording their offsets, ...) that
 * share one CheckpointStorage.
 *
 * - One checkpoint in flight at a time. `triggerCheckpoint()` while one is in flight waits for it
 *   and then takes its own; a periodic tick while one is in flight (or queued) is skipped.
 * - Trigger N: record N in `jobs/<job>/LAST-TRIGGERED` (so N is never reused, even after a crash),
 *   then call every participant's `snapshot(N)` concurrently.
 * - Complete N when all acknowledged: write `jobs/<job>/checkpoints/<N>.meta` atomically (the
 *   handles; docs/format/job-checkpoint.md), then subsume: keep the newest `retain`; for each older
 *   one, oldest first, delete its metadata, then call `discard(id, handle)` on its participants.
 * - Abort N on a decline (a rejected snapshot), a timeout, a failed metadata write or close():
 *   call `discard(N, handle | undefined)` on every participant, write no metadata, reject with an
 *   LsmError (LSM_CHECKPOINT_DECLINED / _TIMEOUT / _ABORTED) whose `cause` is the reason. A
 *   snapshot resolving after the abort is discarded when it arrives.
 * - Failures after completion (metadata deletes, discards of subsumed checkpoints, callbacks) are
 *   kept in `lastCleanupError`; they never fail a checkpoint.
 *
 * This module knows participants only through `CheckpointParticipant`; it does not depend on the
 * keyed-state backend.
 */
import { crc32c } from '../base/crc32c.js';
import { AssertionError, ClosedError, CorruptionError, LsmError } from '../base/errors.js';
import { type CheckpointStorage, checkObjectName } from '../checkpoint/checkpoint-storage.js';

export interface CheckpointParticipant {
  /** Unique within the job; a plain name segment /^[A-Za-z0-9._-]+$/. */
  readonly name: string;
  /** Takes this participant's part of checkpoint `checkpointId` and resolves to a JSON-serializable handle
   *  (what restoring needs). Rejecting declines the checkpoint. It may resolve late (barrier alignment). */
  snapshot(checkpointId: number): Promise<unknown>;
  /** Drops what checkpoint `checkpointId` alone holds for this participant (called for aborted checkpoints,
   *  with the handle when the participant had acknowledged, else undefined, and for subsumed ones). */
  discard(checkpointId: number, handle: unknown): Promise<void>;
}

export interface CompletedCheckpoint {
  job: string;
  checkpointId: number;
  /** Trigger time, milliseconds since the epoch. */
  createdAt: number;
  /** Milliseconds from the trigger until every participant had acknowledged. */
  durationMs: number;
  /** Participant name → the handle its snapshot resolved to (as stored: JSON round-tripped). */
  handles: Record<string, unknown>;
}

export interface CheckpointCoordinatorOptions {
  storage: CheckpointStorage;
  /** Default 'job'; a plain name segment; metadata lives under jobs/<job>/. */
  job?: string;
  participants: readonly CheckpointParticipant[];
  /** Completed checkpoints kept, default 3. */
  retain?: number;
  /** How long participants may take to acknowledge, default 600_000. */
  timeoutMs?: number;
  /** Periodic triggering when start() is called. */
  intervalMs?: number;
  onCompleted?: (c: CompletedCheckpoint) => void;
  onAborted?: (checkpointId: number, reason: unknown) => void;
}

export const JOB_CHECKPOINT_FORMAT_VERSION = 1;
const CHECKPOINT_MAGIC = 'LSMJOB';
const TRIGGER_MAGIC = 'LSMJOBT';
const SEGMENT = /^[A-Za-z0-9._-]+$/;
/** setTimeout's largest delay. */
const MAX_DELAY = 2 ** 31 - 1;

function isSegment(name: unknown): name is string {
  return typeof name === 'string' && SEGMENT.test(name) && name !== '.' && name !== '..';
}

export function jobPrefix(job: string): string {
  return `jobs/${job}/`;
}

export function jobCheckpointName(job: string, checkpointId: number): string {
  return `${jobPrefix(job)}checkpoints/${checkpointId}.meta`;
}

export function lastTriggeredName(job: string): string {
  return `${jobPrefix(job)}LAST-TRIGGERED`;
}

/** The checkpoint id of a job's metadata object name, or undefined for anything else. */
function parseJobCheckpointName(job: string, name: string): number | undefined {
  const prefix = `${jobPrefix(job)}checkpoints/`;
  if (!name.startsWith(prefix)) return undefined;
  const m = /^([1-9]\d{0,14})\.meta$/.exec(name.slice(prefix.length));
  return m ? Number(m[1]) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Framing: `<MAGIC> <version> <crc32c hex8> <body length>\n` + UTF-8 JSON body.

function frame(magic: string, body: unknown): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(body));
  const crc = (crc32c(json) >>> 0).toString(16).padStart(8, '0');
  const header = new TextEncoder().encode(`${magic} ${JOB_CHECKPOINT_FORMAT_VERSION} ${crc} ${json.length}\n`);
  const out = new Uint8Array(header.length + json.length);
  out.set(header, 0);
  out.set(json, header.length);
  return out;
}

function unframe(data: Uint8Array, magic: string, objectName: string, what: string): Record<string, unknown> {
  const bad = (message: string, details: { expected?: string | number; actual?: string | number } = {}): CorruptionError =>
    new CorruptionError(`${what}: ${message}`, { file: objectName, ...details });
  const nl = data.indexOf(0x0a);
  if (nl < 0 || nl > 80) throw bad('no header line');
  const header = new TextDecoder().decode(data.subarray(0, nl));
  const m = /^([A-Z]+) (\d{1,9}) ([0-9a-f]{8}) (\d{1,15})$/.exec(header);
  if (!m) throw bad('bad header');
  if (m[1] !== magic) throw bad('bad magic', { expected: magic, actual: m[1]! });
  const version = Number(m[2]);
  if (version !== JOB_CHECKPOINT_FORMAT_VERSION) {
    throw new LsmError('LSM_NOT_SUPPORTED', `${what} ${objectName} has format version ${version}; this build reads ${JOB_CHECKPOINT_FORMAT_VERSION}`);
  }
  const body = data.subarray(nl + 1);
  if (body.length !== Number(m[4])) throw bad('truncated body', { expected: Number(m[4]), actual: body.length });
  const crc = (crc32c(body) >>> 0).toString(16).padStart(8, '0');
  if (crc !== m[3]) throw bad('checksum mismatch', { expected: m[3]!, actual: crc });
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (err) {
    throw new CorruptionError(`${what}: body is not JSON`, { file: objectName }, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('invalid body');
  const o = parsed as Record<string, unknown>;
  if (o.formatVersion !== version) throw bad('invalid formatVersion');
  return o;
}

/** The metadata object of a completed checkpoint (docs/format/job-checkpoint.md). */
export function encodeJobCheckpoint(c: CompletedCheckpoint): Uint8Array {
  return frame(CHECKPOINT_MAGIC, {
    formatVersion: JOB_CHECKPOINT_FORMAT_VERSION,
    job: c.job,
    checkpointId: c.checkpointId,
    createdAt: c.createdAt,
    durationMs: c.durationMs,
    handles: c.handles,
  });
}

/**
 * Parses and validates a completed checkpoint's metadata. `expected` (job and id from the object
 * name) must match the body. Corrupt bytes or fields: CorruptionError; another format version:
 * LSM_NOT_SUPPORTED.
 */
export function decodeJobCheckpoint(data: Uint8Array, objectName: string, expected?: { job: string; checkpointId: number }): CompletedCheckpoint {
  const o = unframe(data, CHECKPOINT_MAGIC, objectName, 'job checkpoint metadata');
  const fail = (what: string): never => {
    throw new CorruptionError(`job checkpoint metadata: invalid ${what}`, { file: objectName });
  };
  const int = (x: unknown, what: string): number => (Number.isSafeInteger(x) && (x as number) >= 0 ? (x as number) : fail(what));
  const job = isSegment(o.job) ? o.job : fail('job');
  const checkpointId = int(o.checkpointId, 'checkpointId');
  if (checkpointId < 1) fail('checkpointId');
  if (expected !== undefined) {
    if (job !== expected.job) fail(`job (${JSON.stringify(job)} in an object of job ${JSON.stringify(expected.job)})`);
    if (checkpointId !== expected.checkpointId) fail('checkpointId (does not match the object name)');
  }
  const createdAt = int(o.createdAt, 'createdAt');
  const durationMs = int(o.durationMs, 'durationMs');
  const h = o.handles;
  if (typeof h !== 'object' || h === null || Array.isArray(h)) fail('handles');
  const entries = Object.entries(h as Record<string, unknown>);
  for (const [name] of entries) if (!isSegment(name)) fail(`handles (participant name ${JSON.stringify(name)})`);
  return freezeCheckpoint({ job, checkpointId, createdAt, durationMs, handles: Object.fromEntries(entries) });
}

function encodeTrigger(job: string, checkpointId: number, triggeredAt: number): Uint8Array {
  return frame(TRIGGER_MAGIC, { formatVersion: JOB_CHECKPOINT_FORMAT_VERSION, job, checkpointId, triggeredAt });
}

function decodeTrigger(data: Uint8Array, objectName: string, job: string): number {
  const o = unframe(data, TRIGGER_MAGIC, objectName, 'last-triggered record');
  const fail = (what: string): never => {
    throw new CorruptionError(`last-triggered record: invalid ${what}`, { file: objectName });
  };
  if (o.job !== job) fail('job');
  if (!Number.isSafeInteger(o.checkpointId) || (o.checkpointId as number) < 1) fail('checkpointId');
  if (!Number.isSafeInteger(o.triggeredAt) || (o.triggeredAt as number) < 0) fail('triggeredAt');
  return o.checkpointId as number;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

function freezeCheckpoint(c: CompletedCheckpoint): CompletedCheckpoint {
  return deepFreeze(c);
}

/** A handle as it will be stored and restored; throws TypeError when it is not JSON-serializable. */
function normalizeHandle(handle: unknown, participant: string): unknown {
  if (handle === undefined) return null; // acknowledged without state
  let json: string | undefined;
  try {
    json = JSON.stringify(handle);
  } catch (err) {
    throw new TypeError(`participant ${participant}: snapshot handle is not JSON-serializable`, { cause: err });
  }
  if (json === undefined) throw new TypeError(`participant ${participant}: snapshot handle is not JSON-serializable (${typeof handle})`);
  return JSON.parse(json) as unknown;
}

// ---------------------------------------------------------------------------------------------

/** Calls `fn` so that a synchronous throw becomes a rejection. */
function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** `handle` as the participant resolved it (given back to discard on abort); `stored` as it is written and restored. */
type Ack = { kind: 'pending' } | { kind: 'acked'; handle: unknown; stored: unknown } | { kind: 'declined' };

type Decision = { kind: 'complete' } | { kind: 'abort'; error: LsmError };

interface Pending {
  readonly id: number;
  readonly createdAt: number;
  readonly started: number;
  readonly acks: Map<string, Ack>;
  phase: 'snapshotting' | 'completing' | 'aborted' | 'completed';
  /** Settles the snapshot phase (only the first call counts). */
  decide(d: Decision): void;
}

export class CheckpointCoordinator {
  readonly job: string;
  readonly #storage: CheckpointStorage;
  readonly #participants: readonly CheckpointParticipant[];
  readonly #retain: number;
  readonly #timeoutMs: number;
  readonly #intervalMs: number | undefined;
  readonly #onCompleted: ((c: CompletedCheckpoint) => void) | undefined;
  readonly #onAborted: ((checkpointId: number, reason: unknown) => void) | undefined;
  /** Completed checkpoints, ascending by id. */
  #completed: CompletedCheckpoint[] = [];
  /** Metadata objects found by open() that failed to read: never used, never deleted. */
  readonly #unreadable = new Map<number, unknown>();
  #nextId = 1;
  #queue: Promise<void> = Promise.resolve();
  /** Triggers running or waiting their turn. */
  #active = 0;
  #pending: Pending | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The most recent failed checkpoint's error (periodic or explicit). */
  lastError: unknown;
  /** The most recent failure after a decision was made: a delete or discard while subsuming or aborting, a callback. */
  lastCleanupError: unknown;

  private constructor(options: CheckpointCoordinatorOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const { storage } = options;
    if (typeof storage !== 'object' || storage === null) throw new TypeError('storage must be a CheckpointStorage');
    for (const m of ['putBytes', 'getBytes', 'list', 'delete'] as const) {
      if (typeof storage[m] !== 'function') throw new TypeError(`storage must be a CheckpointStorage (no ${m}())`);
    }
    const job = options.job ?? 'job';
    if (typeof job !== 'string') throw new TypeError('job must be a string');
    if (!isSegment(job)) throw new RangeError(`job ${JSON.stringify(job)} must be a plain name segment (letters, digits, '.', '_', '-')`);
    if (!Array.isArray(options.participants)) throw new TypeError('participants must be an array');
    if (options.participants.length === 0) throw new RangeError('participants must not be empty');
    const names = new Set<string>();
    for (const p of options.participants as unknown[]) {
      if (typeof p !== 'object' || p === null) throw new TypeError('every participant must be an object');
      const q = p as Partial<CheckpointParticipant>;
      if (typeof q.name !== 'string') throw new TypeError('participant name must be a string');
      if (!isSegment(q.name)) throw new RangeError(`participant name ${JSON.stringify(q.name)} must be a plain name segment (letters, digits, '.', '_', '-')`);
      if (typeof q.snapshot !== 'function' || typeof q.discard !== 'function') {
        throw new TypeError(`participant ${q.name} must have snapshot() and discard() methods`);
      }
      if (names.has(q.name)) throw new RangeError(`duplicate participant name ${JSON.stringify(q.name)}`);
      names.add(q.name);
    }
    const retain = options.retain ?? 3;
    if (typeof retain !== 'number') throw new TypeError('retain must be a number');
    if (!Number.isSafeInteger(retain) || retain < 1) throw new RangeError('retain must be an integer >= 1');
    const duration = (v: unknown, what: string): number => {
      if (typeof v !== 'number') throw new TypeError(`${what} must be a number`);
      if (!Number.isFinite(v) || v <= 0 || v > MAX_DELAY) throw new RangeError(`${what} must be > 0 and <= ${MAX_DELAY}`);
      return v;
    };
    const timeoutMs = duration(options.timeoutMs ?? 600_000, 'timeoutMs');
    const intervalMs = options.intervalMs === undefined ? undefined : duration(options.intervalMs, 'intervalMs');
    for (const cb of ['onCompleted', 'onAborted'] as const) {
      if (options[cb] !== undefined && typeof options[cb] !== 'function') throw new TypeError(`${cb} must be a function`);
    }
    this.job = job;
    this.#storage = storage;
    this.#participants = Object.freeze([...options.participants]);
    this.#retain = retain;
    this.#timeoutMs = timeoutMs;
    this.#intervalMs = intervalMs;
    this.#onCompleted = options.onCompleted;
    this.#onAborted = options.onAborted;
  }

  /**
   * A coordinator for `options.job` over `options.storage`: reads the job's completed checkpoints
   * and its last triggered id, so numbering continues after the highest id ever triggered.
   * Unreadable checkpoint metadata is skipped (see `unreadableCheckpoints`) but its id still
   * counts; an unreadable LAST-TRIGGERED record fails open with a CorruptionError.
   */
  static async open(options: CheckpointCoordinatorOptions): Promise<CheckpointCoordinator> {
    const c = new CheckpointCoordinator(options);
    await c.#load();
    return c;
  }

  async #load(): Promise<void> {
    let highest = 0;
    const ids: number[] = [];
    for (const o of await this.#storage.list(`${jobPrefix(this.job)}checkpoints/`)) {
      const id = parseJobCheckpointName(this.job, o.name);
      if (id !== undefined) ids.push(id);
    }
    ids.sort((a, b) => a - b);
    const completed: CompletedCheckpoint[] = [];
    for (const id of ids) {
      highest = Math.max(highest, id);
      const name = jobCheckpointName(this.job, id);
      try {
        completed.push(decodeJobCheckpoint(await this.#storage.getBytes(name), name, { job: this.job, checkpointId: id }));
      } catch (err) {
        if (LsmError.is(err, 'LSM_NOT_FOUND')) continue; // deleted meanwhile
        if (LsmError.is(err, 'LSM_CORRUPTION') || LsmError.is(err, 'LSM_NOT_SUPPORTED')) this.#unreadable.set(id, err);
        else throw err;
      }
    }
    const triggerName = lastTriggeredName(this.job);
    let data: Uint8Array | undefined;
    try {
      data = await this.#storage.getBytes(triggerName);
    } catch (err) {
      if (!LsmError.is(err, 'LSM_NOT_FOUND')) throw err;
    }
    let triggered: number | undefined;
    if (data !== undefined) {
      triggered = decodeTrigger(data, triggerName, this.job);
      highest = Math.max(highest, triggered);
    }
    this.#completed = completed;
    this.#nextId = highest + 1;
    if (triggered !== undefined && !ids.includes(triggered)) await this.#discardInterrupted(triggered);
  }

  /**
   * The last triggered checkpoint never completed (the job died during it): what participants
   * took of it is garbage. Each participant discards it (a keyed-state backend under the same
   * name continues the old chain, so it finds the old checkpoint). Failures are recorded, not
   * thrown: they cost space, not correctness.
   */
  async #discardInterrupted(checkpointId: number): Promise<void> {
    for (const p of this.#participants) {
      try {
        await p.discard(checkpointId, undefined);
      } catch (err) {
        this.lastCleanupError = err;
      }
    }
  }

  /** Completed checkpoints this coordinator retains, ascending by id. */
  completedCheckpoints(): CompletedCheckpoint[] {
    return [...this.#completed];
  }

  latest(): CompletedCheckpoint | undefined {
    return this.#completed[this.#completed.length - 1];
  }

  /** Metadata objects open() found but could not read (corrupt, or another format version). They are never deleted. */
  unreadableCheckpoints(): { checkpointId: number; error: unknown }[] {
    return [...this.#unreadable].map(([checkpointId, error]) => ({ checkpointId, error }));
  }

  /** The id the next checkpoint will take. */
  get nextCheckpointId(): number {
    return this.#nextId;
  }

  /** The id of the checkpoint in flight, if any. */
  get pendingCheckpointId(): number | undefined {
    return this.#pending?.id;
  }

  /**
   * Takes the next checkpoint, after the one in flight (if any) has finished. Resolves once its
   * metadata is stored and older checkpoints are subsumed; rejects (after aborting it) with an
   * LsmError LSM_CHECKPOINT_DECLINED, LSM_CHECKPOINT_TIMEOUT or LSM_CHECKPOINT_ABORTED, or with
   * a ClosedError when the coordinator is closed before it starts.
   */
  triggerCheckpoint(): Promise<CompletedCheckpoint> {
    if (this.#closed) return Promise.reject(new ClosedError('checkpoint coordinator'));
    this.#active++;
    const run = this.#queue.then(() => this.#runOne());
    const done = run.finally(() => {
      this.#active--;
    });
    this.#queue = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  /** Triggers a checkpoint every `intervalMs` (skipping a tick while one is in flight). Failures go to onAborted and `lastError`. */
  start(): void {
    if (this.#closed) throw new ClosedError('checkpoint coordinator');
    if (this.#intervalMs === undefined) throw new RangeError('start() needs the intervalMs option');
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      if (this.#closed || this.#active > 0) return; // one in flight: skip this tick
      this.triggerCheckpoint().catch(() => undefined); // reported through lastError and onAborted
    }, this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Stops periodic triggering, aborts the checkpoint in flight (LSM_CHECKPOINT_ABORTED) unless it
   * is already writing its metadata (then it completes), and waits until it has finished.
   * Triggers still waiting their turn reject with a ClosedError. Does not close the storage.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.stop();
      this.#pending?.decide({ kind: 'abort', error: new LsmError('LSM_CHECKPOINT_ABORTED', `checkpoint ${this.#pending.id} of job ${this.job} aborted: the coordinator is closing`, { cause: new ClosedError('checkpoint coordinator') }) });
      await this.#queue;
    })();
    return this.#closing;
  }

  /**
   * Reads and validates one completed checkpoint of `job` (`'latest'`: the highest id present).
   * LSM_NOT_FOUND when there is none; CorruptionError when its metadata is damaged ('latest'
   * never falls back to an older one silently).
   */
  static async loadCompleted(storage: CheckpointStorage, job: string, id: number | 'latest'): Promise<CompletedCheckpoint> {
    if (typeof job !== 'string') throw new TypeError('job must be a string');
    if (!isSegment(job)) throw new RangeError(`job ${JSON.stringify(job)} must be a plain name segment`);
    let checkpointId: number;
    if (id === 'latest') {
      let highest = 0;
      for (const o of await storage.list(`${jobPrefix(job)}checkpoints/`)) highest = Math.max(highest, parseJobCheckpointName(job, o.name) ?? 0);
      if (highest === 0) throw new LsmError('LSM_NOT_FOUND', `job ${job} has no completed checkpoint in ${storage.description}`);
      checkpointId = highest;
    } else {
      if (typeof id !== 'number') throw new TypeError(`checkpoint id must be a number or 'latest'`);
      if (!Number.isSafeInteger(id) || id < 1) throw new RangeError('checkpoint id must be an integer >= 1');
      checkpointId = id;
    }
    const name = jobCheckpointName(job, checkpointId);
    checkObjectName(name);
    let data: Uint8Array;
    try {
      data = await storage.getBytes(name);
    } catch (err) {
      if (LsmError.is(err, 'LSM_NOT_FOUND')) {
        throw new LsmError('LSM_NOT_FOUND', `job ${job} has no completed checkpoint ${checkpointId} in ${storage.description}`, { cause: err });
      }
      throw err;
    }
    return decodeJobCheckpoint(data, name, { job, checkpointId });
  }

  // -------------------------------------------------------------------------------------------

  async #runOne(): Promise<CompletedCheckpoint> {
    if (this.#closed) throw new ClosedError('checkpoint coordinator');
    const id = this.#nextId++;
    const createdAt = Date.now();
    const started = performance.now();
    // Record the id before any participant sees it, so it is never reused after a crash.
    try {
      await this.#storage.putBytes(lastTriggeredName(this.job), encodeTrigger(this.job, id, createdAt));
    } catch (err) {
      const error = new LsmError('LSM_CHECKPOINT_ABORTED', `checkpoint ${id} of job ${this.job} aborted: recording the trigger failed`, { cause: err });
      this.#reportAborted(id, error);
      throw error;
    }
    if (this.#closed) {
      const error = new LsmError('LSM_CHECKPOINT_ABORTED', `checkpoint ${id} of job ${this.job} aborted: the coordinator is closing`, { cause: new ClosedError('checkpoint coordinator') });
      this.#reportAborted(id, error);
      throw error;
    }

    let decide!: (d: Decision) => void;
    const decision = new Promise<Decision>((resolve) => {
      decide = resolve;
    });
    const acks = new Map<string, Ack>(this.#participants.map((p) => [p.name, { kind: 'pending' }]));
    const pending: Pending = {
      id,
      createdAt,
      started,
      acks,
      phase: 'snapshotting',
      decide: (d) => {
        if (pending.phase !== 'snapshotting') return;
        pending.phase = d.kind === 'complete' ? 'completing' : 'aborted';
        decide(d);
      },
    };
    this.#pending = pending;
    const timer = setTimeout(() => {
      const waiting = [...acks].filter(([, a]) => a.kind === 'pending').map(([n]) => n);
      pending.decide({
        kind: 'abort',
        error: new LsmError('LSM_CHECKPOINT_TIMEOUT', `checkpoint ${id} of job ${this.job} timed out after ${this.#timeoutMs} ms waiting for ${waiting.join(', ')}`),
      });
    }, this.#timeoutMs);
    timer.unref();

    let remaining = this.#participants.length;
    for (const p of this.#participants) {
      call(() => p.snapshot(id)).then(
        (handle) => {
          if (pending.phase !== 'snapshotting') {
            if (pending.phase === 'aborted') this.#discardLate(p, id, handle);
            return;
          }
          let stored: unknown;
          try {
            stored = normalizeHandle(handle, p.name);
          } catch (err) {
            acks.set(p.name, { kind: 'acked', handle, stored: null });
            pending.decide({ kind: 'abort', error: new LsmError('LSM_CHECKPOINT_DECLINED', `checkpoint ${id} of job ${this.job} declined: participant ${p.name} acknowledged with a handle that is not JSON-serializable`, { cause: err }) });
            return;
          }
          acks.set(p.name, { kind: 'acked', handle, stored });
          if (--remaining === 0) pending.decide({ kind: 'complete' });
        },
        (reason: unknown) => {
          if (pending.phase !== 'snapshotting') return; // discard(id, undefined) was or will be called
          acks.set(p.name, { kind: 'declined' });
          pending.decide({ kind: 'abort', error: new LsmError('LSM_CHECKPOINT_DECLINED', `checkpoint ${id} of job ${this.job} declined by participant ${p.name}`, { cause: reason }) });
        },
      );
    }

    const d = await decision;
    clearTimeout(timer);
    try {
      if (d.kind === 'abort') {
        await this.#abort(pending, d.error);
        throw d.error;
      }
      return await this.#complete(pending);
    } finally {
      this.#pending = undefined;
    }
  }

  async #complete(pending: Pending): Promise<CompletedCheckpoint> {
    const { id } = pending;
    const handles: Record<string, unknown> = Object.fromEntries(
      this.#participants.map((p) => {
        const a = pending.acks.get(p.name);
        if (a?.kind !== 'acked') throw new AssertionError(`checkpoint ${id} completing without participant ${p.name}'s acknowledgement`);
        return [p.name, a.stored];
      }),
    );
    const checkpoint = freezeCheckpoint({
      job: this.job,
      checkpointId: id,
      createdAt: pending.createdAt,
      durationMs: Math.max(0, Math.round(performance.now() - pending.started)),
      handles,
    });
    const name = jobCheckpointName(this.job, id);
    try {
      await this.#storage.putBytes(name, encodeJobCheckpoint(checkpoint));
    } catch (err) {
      const error = new LsmError('LSM_CHECKPOINT_ABORTED', `checkpoint ${id} of job ${this.job} aborted: writing its metadata failed`, { cause: err });
      // The put may have become visible anyway; state is discarded only once the metadata is surely gone.
      let gone = true;
      try {
        await this.#storage.delete(name);
      } catch (deleteErr) {
        gone = false;
        this.lastCleanupError = deleteErr;
      }
      pending.phase = 'aborted';
      if (gone) await this.#abort(pending, error);
      else this.#reportAborted(id, error);
      throw error;
    }
    pending.phase = 'completed';
    this.#completed.push(checkpoint);
    await this.#subsume();
    if (this.#onCompleted !== undefined) {
      try {
        this.#onCompleted(checkpoint);
      } catch (err) {
        this.lastCleanupError = err;
      }
    }
    return checkpoint;
  }

  /** Keeps the newest `retain`; for each older one (oldest first): delete its metadata, then discard its handles. */
  async #subsume(): Promise<void> {
    const excess = this.#completed.length - this.#retain;
    if (excess <= 0) return;
    const victims = this.#completed.slice(0, excess);
    const kept = new Set(this.#completed.slice(excess));
    for (const v of victims) {
      try {
        await this.#storage.delete(jobCheckpointName(this.job, v.checkpointId));
      } catch (err) {
        // Still visible: keep it (and its state) and try again after the next checkpoint.
        this.lastCleanupError = err;
        kept.add(v);
        continue;
      }
      await this.#discardAll(
        this.#participants
          .filter((p) => Object.prototype.hasOwnProperty.call(v.handles, p.name))
          .map((p) => () => p.discard(v.checkpointId, v.handles[p.name])),
      );
    }
    this.#completed = this.#completed.filter((c) => kept.has(c));
  }

  /** Discards every participant's part of an aborted checkpoint and reports the abort. */
  async #abort(pending: Pending, error: LsmError): Promise<void> {
    await this.#discardAll(
      this.#participants.map((p) => {
        const a = pending.acks.get(p.name);
        return () => p.discard(pending.id, a?.kind === 'acked' ? a.handle : undefined);
      }),
    );
    this.#reportAborted(pending.id, error);
  }

  #reportAborted(id: number, error: LsmError): void {
    this.lastError = error;
    if (this.#onAborted === undefined) return;
    try {
      this.#onAborted(id, error);
    } catch (err) {
      this.lastCleanupError = err;
    }
  }

  /** A snapshot that resolved after its checkpoint was aborted. */
  #discardLate(p: CheckpointParticipant, id: number, handle: unknown): void {
    call(() => p.discard(id, handle)).catch((err: unknown) => {
      this.lastCleanupError = err;
    });
  }

  /** Runs the discards concurrently; waits for them at most `timeoutMs`. Failures go to lastCleanupError. */
  async #discardAll(calls: (() => Promise<void>)[]): Promise<void> {
    if (calls.length === 0) return;
    const all = Promise.all(
      calls.map((fn) =>
        call(fn).catch((err: unknown) => {
          this.lastCleanupError = err;
        }),
      ),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.lastCleanupError = new LsmError('LSM_CHECKPOINT_TIMEOUT', `discarding checkpoint state of job ${this.job} took longer than ${this.#timeoutMs} ms; not waiting for it`);
        resolve();
      }, this.#timeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([all.then(() => undefined), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
