import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { crc32c } from '../../../src/base/crc32c.js';
import { ClosedError, CorruptionError, LsmError } from '../../../src/base/errors.js';
import type { CheckpointStorage as Storage } from '../../../src/checkpoint/checkpoint-storage.js';
import { CheckpointStorage } from '../../../src/checkpoint/storage-factory.js';
import {
  type CheckpointCoordinatorOptions, type CheckpointParticipant, CheckpointCoordinator, type CompletedCheckpoint,
  decodeJobCheckpoint, encodeJobCheckpoint, jobCheckpointName, lastTriggeredName,
} from '../../../src/state/checkpoint-coordinator.js';
import { tempDir } from '../../helpers/temp-dir.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function setup(): { root: string; storage: Storage } {
  const d = tempDir('lsm-coord-');
  cleanups.push(d.cleanup);
  const root = join(d.path, 'store');
  return { root, storage: CheckpointStorage.directory(root) };
}

interface Deferred {
  resolve(handle: unknown): void;
  reject(reason: unknown): void;
}

/**
 * A fake participant. `auto` acknowledges at once with `{ participant, id }`; `manual` leaves the
 * snapshot pending until the test settles it; `decline` rejects.
 */
class Fake implements CheckpointParticipant {
  mode: 'auto' | 'manual' | 'decline' = 'auto';
  readonly snapshots: number[] = [];
  readonly discards: { id: number; handle: unknown }[] = [];
  readonly deferred = new Map<number, Deferred>();
  discardError: unknown;
  onDiscard: ((id: number, handle: unknown) => Promise<void> | void) | undefined;

  constructor(
    readonly name: string,
    readonly log: string[] = [],
  ) {}

  snapshot(checkpointId: number): Promise<unknown> {
    this.snapshots.push(checkpointId);
    this.log.push(`snapshot ${this.name} ${checkpointId}`);
    if (this.mode === 'decline') return Promise.reject(new Error(`${this.name} declines ${checkpointId}`));
    if (this.mode === 'auto') return Promise.resolve({ participant: this.name, id: checkpointId });
    return new Promise((resolve, reject) => this.deferred.set(checkpointId, { resolve, reject }));
  }

  async discard(checkpointId: number, handle: unknown): Promise<void> {
    this.discards.push({ id: checkpointId, handle });
    this.log.push(`discard ${this.name} ${checkpointId} ${handle === undefined ? 'undefined' : JSON.stringify(handle)}`);
    await this.onDiscard?.(checkpointId, handle);
    if (this.discardError !== undefined) throw this.discardError;
  }
}

async function open(options: CheckpointCoordinatorOptions): Promise<CheckpointCoordinator> {
  const c = await CheckpointCoordinator.open(options);
  cleanups.push(() => c.close());
  return c;
}

async function metaIds(storage: Storage, job = 'job'): Promise<number[]> {
  return (await storage.list(`jobs/${job}/checkpoints/`)).map((o) => Number(/(\d+)\.meta$/.exec(o.name)![1])).sort((a, b) => a - b);
}

async function rejection(p: Promise<unknown>): Promise<LsmError> {
  try {
    await p;
  } catch (err) {
    return err as LsmError;
  }
  throw new Error('expected a rejection');
}

/** A frame with a valid header and checksum around an arbitrary body. */
function frame(body: unknown, magic = 'LSMJOB', version = 1): Uint8Array {
  return rawFrame(JSON.stringify(body), magic, version);
}

function rawFrame(text: string, magic = 'LSMJOB', version = 1): Uint8Array {
  const json = new TextEncoder().encode(text);
  const header = `${magic} ${version} ${(crc32c(json) >>> 0).toString(16).padStart(8, '0')} ${json.length}\n`;
  return new Uint8Array([...new TextEncoder().encode(header), ...json]);
}

describe('CheckpointCoordinator', () => {
  it('completes a checkpoint once every participant acknowledged and writes metadata with all handles', async () => {
    const { root, storage } = setup();
    const a = new Fake('backend-1');
    const b = new Fake('source.kafka');
    const completed: CompletedCheckpoint[] = [];
    const c = await open({ storage, participants: [a, b], onCompleted: (x) => completed.push(x) });
    expect(c.nextCheckpointId).toBe(1);
    const cp = await c.triggerCheckpoint();
    expect(cp.checkpointId).toBe(1);
    expect(cp.job).toBe('job');
    expect(cp.handles).toEqual({ 'backend-1': { participant: 'backend-1', id: 1 }, 'source.kafka': { participant: 'source.kafka', id: 1 } });
    expect(cp.durationMs).toBeGreaterThanOrEqual(0);
    expect(a.snapshots).toEqual([1]);
    expect(b.snapshots).toEqual([1]);
    expect(a.discards).toEqual([]);
    expect(completed).toEqual([cp]);
    expect(c.latest()).toEqual(cp);
    expect(c.completedCheckpoints()).toEqual([cp]);

    const raw = readFileSync(join(root, 'jobs', 'job', 'checkpoints', '1.meta'));
    expect(raw.toString('utf8')).toMatch(/^LSMJOB 1 [0-9a-f]{8} \d+\n\{"formatVersion":1,"job":"job","checkpointId":1,/);
    expect(await CheckpointCoordinator.loadCompleted(storage, 'job', 1)).toEqual(cp);
    expect(await storage.list(lastTriggeredName('job'))).toHaveLength(1);

    const cp2 = await c.triggerCheckpoint();
    expect(cp2.checkpointId).toBe(2);
    expect(await metaIds(storage)).toEqual([1, 2]);
  });

  it('calls snapshot concurrently and completes only when the last one resolves', async () => {
    const { storage } = setup();
    const a = new Fake('a');
    const b = new Fake('b');
    a.mode = 'manual';
    b.mode = 'manual';
    const c = await open({ storage, participants: [a, b] });
    let settled = false;
    const p = c.triggerCheckpoint().finally(() => {
      settled = true;
    });
    await vi.waitFor(() => expect(a.snapshots.length + b.snapshots.length).toBe(2));
    expect(c.pendingCheckpointId).toBe(1);
    b.deferred.get(1)!.resolve({ b: 1 });
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    expect(await metaIds(storage)).toEqual([]);
    a.deferred.get(1)!.resolve(undefined); // acknowledged without state: stored as null
    const cp = await p;
    expect(cp.handles).toEqual({ a: null, b: { b: 1 } });
    expect((await CheckpointCoordinator.loadCompleted(storage, 'job', 'latest')).handles).toEqual({ a: null, b: { b: 1 } });
  });

  it('a decline aborts: discard for every participant, no metadata, DECLINED with the reason as cause', async () => {
    const { storage } = setup();
    const log: string[] = [];
    const a = new Fake('a', log);
    const b = new Fake('b', log);
    const z = new Fake('z', log);
    z.mode = 'manual';
    b.mode = 'decline';
    const aborted: [number, unknown][] = [];
    const c = await open({ storage, participants: [a, b, z], onAborted: (id, reason) => aborted.push([id, reason]) });
    const err = await rejection(c.triggerCheckpoint());
    expect(LsmError.is(err, 'LSM_CHECKPOINT_DECLINED')).toBe(true);
    expect((err.cause as Error).message).toBe('b declines 1');
    expect(err.message).toContain('b');
    expect(a.discards).toEqual([{ id: 1, handle: { participant: 'a', id: 1 } }]);
    expect(b.discards).toEqual([{ id: 1, handle: undefined }]);
    expect(z.discards).toEqual([{ id: 1, handle: undefined }]);
    expect(await metaIds(storage)).toEqual([]);
    expect(aborted).toEqual([[1, err]]);
    expect(c.lastError).toBe(err);
    expect(c.completedCheckpoints()).toEqual([]);

    // A snapshot resolving after the abort is discarded when it arrives.
    z.deferred.get(1)!.resolve({ late: true });
    await vi.waitFor(() => expect(z.discards).toEqual([{ id: 1, handle: undefined }, { id: 1, handle: { late: true } }]));
    expect(await metaIds(storage)).toEqual([]);

    // The next checkpoint takes a new id.
    b.mode = 'auto';
    z.mode = 'auto';
    expect((await c.triggerCheckpoint()).checkpointId).toBe(2);
    expect(await metaIds(storage)).toEqual([2]);
  });

  it('a snapshot that throws synchronously declines', async () => {
    const { storage } = setup();
    const a = new Fake('a');
    const bad: CheckpointParticipant = {
      name: 'bad',
      snapshot: () => {
        throw new Error('sync');
      },
      discard: async () => undefined,
    };
    const c = await open({ storage, participants: [a, bad] });
    const err = await rejection(c.triggerCheckpoint());
    expect(LsmError.is(err, 'LSM_CHECKPOINT_DECLINED')).toBe(true);
    expect(a.discards).toEqual([{ id: 1, handle: { participant: 'a', id: 1 } }]);
  });

  it('a handle that is not JSON-serializable declines; the participant gets its handle back', async () => {
    const { storage } = setup();
    const a = new Fake('a');
    const big: CheckpointParticipant & { discards: unknown[] } = {
      name: 'big',
      discards: [],
      snapshot: async () => ({ n: 1n }),
      async discard(id, handle) {
        this.discards.push([id, handle]);
      },
    };
    const c = await open({ storage, participants: [a, big] });
    const err = await rejection(c.triggerCheckpoint());
    expect(LsmError.is(err, 'LSM_CHECKPOINT_DECLINED')).toBe(true);
    expect(err.cause).toBeInstanceOf(TypeError);
    expect(big.discards).toEqual([[1, { n: 1n }]]);
    expect(await metaIds(storage)).toEqual([]);
  });

  it('times out: aborts with TIMEOUT, discards, writes no metadata; a late ack is discarded', async () => {
    const { storage } = setup();
    const a = new Fake('a');
    const slow = new Fake('slow');
    slow.mode = 'manual';
    const aborted: number[] = [];
    const c = await open({ storage, participants: [a, slow], timeoutMs: 30, onAborted: (id) => aborted.push(id) });
    const err = await rejection(c.triggerCheckpoint());
    expect(LsmError.is(err, 'LSM_CHECKPOINT_TIMEOUT')).toBe(true);
    expect(err.message).toContain('slow');
    expect(a.discards).toEqual([{ id: 1, handle: { participant: 'a', id: 1 } }]);
    expect(slow.discards).toEqual([{ id: 1, handle: undefined }]);
    expect(aborted).toEqual([1]);
    expect(await metaIds(storage)).toEqual([]);
    expect(c.pendingCheckpointId).toBeUndefined();

    slow.deferred.get(1)!.resolve('late-handle');
    await vi.waitFor(() => expect(slow.discards).toContainEqual({ id: 1, handle: 'late-handle' }));
    slow.mode = 'auto';
    const cp = await c.triggerCheckpoint();
    expect(cp.checkpointId).toBe(2);
    expect(cp.handles).toEqual({ a: { participant: 'a', id: 2 }, slow: { participant: 'slow', id: 2 } });
    expect(await metaIds(storage)).toEqual([2]);
  });

  it('runs one checkpoint at a time: a second trigger waits for the first', async () => {
    const { storage } = setup();
    const a = new Fake('a');
    a.mode = 'manual';
    const c = await open({ storage, participants: [a] });
    const p1 = c.triggerCheckpoint();
    const p2 = c.triggerCheckpoint();
    await vi.waitFor(() => expect(a.snapshots).toEqual([1]));
    await new Promise((r) => setTimeout(r, 20));
    expect(a.snapshots).toEqual([1]);
    a.deferred.get(1)!.resolve('h1');
    expect((await p1).checkpointId).toBe(1);
    await vi.waitFor(() => expect(a.snapshots).toEqual([1, 2]));
    a.deferred.get(2)!.resolve('h2');
    expect((await p2).checkpointId).toBe(2);
  });

  it('retention: keeps the newest `retain`, deletes metadata before discarding subsumed checkpoints, oldest first', async () => {
    const { storage } = setup();
    const log: string[] = [];
    const a = new Fake('a', log);
    const b = new Fake('b', log);
    const metaPresentAtDiscard: boolean[] = [];
    for (const p of [a, b]) {
      p.onDiscard = async (id) => {
        metaPresentAtDiscard.push((await storage.list(jobCheckpointName('job', id))).length > 0);
      };
    }
    const c = await open({ storage, participants: [a, b], retain: 2 });
    for (let i = 1; i <= 5; i++) await c.triggerCheckpoint();
    expect(c.completedCheckpoints().map((x) => x.checkpointId)).toEqual([4, 5]);
    expect(await metaIds(storage)).toEqual([4, 5]);
    expect(a.discards).toEqual([1, 2, 3].map((id) => ({ id, handle: { participant: 'a', id } })));
    expect(b.discards).toEqual([1, 2, 3].map((id) => ({ id, handle: { participant: 'b', id } })));
    expect(metaPresentAtDiscard).toEqual([false, false, false, false, false, false]);
    // Subsuming 1 happens after 3 completed, before 4 is triggered.
    const order = log.filter((l) => !l.startsWith('snapshot b'));
    expect(order.indexOf('discard a 1 {"participant":"a","id":1}')).toBeGreaterThan(order.indexOf('snapshot a 3'));
    expect(order.indexOf('discard a 1 {"participant":"a","id":1}')).toBeLessThan(order.indexOf('snapshot a 4'));
    expect(c.lastCleanupError).toBeUndefined();
  });

  it('a failing discard of a subsumed checkpoint is recorded, not a failed checkpoint', async () => {
    const { storage } = setup();
    const a = new Fake('a');
    a.discardError = new Error('discard failed');
    const c = await open({ storage, participants: [a], retain: 1 });
    await c.triggerCheckpoint();
    const cp = await c.triggerCheckpoint();
    expect(cp.checkpointId).toBe(2);
    expect((c.lastCleanupError as Error).message).toBe('discard failed');
    expect(c.lastError).toBeUndefined();
    expect(await metaIds(storage)).toEqual([2]);
  });

  it('a subsumed checkpoint whose metadata cannot be deleted is kept and its state not discarded', async () => {
    const { storage } = setup();
    let failDeletes = true;
    const flaky: Storage = {
      description: storage.description,
      putFile: (n, p) => storage.putFile(n, p),
      putBytes: (n, d) => storage.putBytes(n, d),
      getBytes: (n) => storage.getBytes(n),
      downloadFile: (n, p) => storage.downloadFile(n, p),
      list: (p) => storage.list(p),
      close: () => storage.close(),
      delete: (n) => (failDeletes ? Promise.reject(new LsmError('LSM_IO', 'delete refused')) : storage.delete(n)),
    };
    const a = new Fake('a');
    const c = await open({ storage: flaky, participants: [a], retain: 1 });
    await c.triggerCheckpoint();
    await c.triggerCheckpoint();
    expect(LsmError.is(c.lastCleanupError, 'LSM_IO')).toBe(true);
    expect(a.discards).toEqual([]);
    expect(c.completedCheckpoints().map((x) => x.checkpointId)).toEqual([1, 2]);
    failDeletes = false;
    await c.triggerCheckpoint();
    expect(c.completedCheckpoints().map((x) => x.checkpointId)).toEqual([3]);
    expect(a.discards.map((d) => d.id)).toEqual([1, 2]);
    expect(await metaIds(storage)).toEqual([3]);
  });

  it('a failed metadata write aborts: ABORTED, discards with handles, no metadata', async () => {
    const { storage } = setup();
    const failing: Storage = {
      description: storage.description,
      putFile: (n, p) => storage.putFile(n, p),
      putBytes: (n, d) => (n.endsWith('.meta') ? Promise.reject(new LsmError('LSM_IO', 'disk full')) : storage.putBytes(n, d)),
      getBytes: (n) => storage.getBytes(n),
      downloadFile: (n, p) => storage.downloadFile(n, p),
      list: (p) => storage.list(p),
      close: () => storage.close(),
      delete: (n) => storage.delete(n),
    };
    const a = new Fake('a');
    const c = await open({ storage: failing, participants: [a] });
    const err = await rejection(c.triggerCheckpoint());
    expect(LsmError.is(err, 'LSM_CHECKPOINT_ABORTED')).toBe(true);
    expect(LsmError.is(err.cause, 'LSM_IO')).toBe(true);
    expect(a.discards).toEqual([{ id: 1, handle: { participant: 'a', id: 1 } }]);
    expect(await metaIds(storage)).toEqual([]);
    expect(c.completedCheckpoints()).toEqual([]);
  });

  it('reopening continues numbering after completed checkpoints and after a crash between trigger and completion', async () => {
    const { storage } = setup();
    const a = new Fake('a');
    const c1 = await open({ storage, participants: [a] });
    await c1.triggerCheckpoint();
    await c1.triggerCheckpoint();
    a.mode = 'manual';
    const pending = c1.triggerCheckpoint();
    pending.catch(() => undefined);
    await vi.waitFor(() => expect(a.snapshots).toEqual([1, 2, 3]));
    // "Crash": c1 is abandoned with checkpoint 3 in flight; a new coordinator opens the job.
    const a2 = new Fake('a');
    const c2 = await open({ storage, participants: [a2] });
    expect(c2.completedCheckpoints().map((x) => x.checkpointId)).toEqual([1, 2]);
    expect(c2.latest()?.handles).toEqual({ a: { participant: 'a', id: 2 } });
    expect(c2.nextCheckpointId).toBe(4);
    expect(a2.discards).toEqual([{ id: 3, handle: undefined }]); // the interrupted checkpoint is garbage
    expect((await c2.triggerCheckpoint()).checkpointId).toBe(4);
    await c2.close();

    // The same with no completed checkpoint at all: only LAST-TRIGGERED knows the id.
    const fresh = setup().storage;
    const b = new Fake('b');
    b.mode = 'manual';
    const c3 = await open({ storage: fresh, participants: [b], job: 'j2' });
    c3.triggerCheckpoint().catch(() => undefined);
    await vi.waitFor(() => expect(b.snapshots).toEqual([1]));
    const c4 = await open({ storage: fresh, participants: [new Fake('b')], job: 'j2' });
    expect(c4.completedCheckpoints()).toEqual([]);
    expect((await c4.triggerCheckpoint()).checkpointId).toBe(2);
    // Another job in the same storage numbers on its own.
    const c5 = await open({ storage: fresh, participants: [new Fake('b')], job: 'j3' });
    expect((await c5.triggerCheckpoint()).checkpointId).toBe(1);
    expect(await metaIds(fresh, 'j2')).toEqual([2]);
    expect(await metaIds(fresh, 'j3')).toEqual([1]);
  });

  it('loadCompleted reads the latest or one id, validated; LSM_NOT_FOUND when absent', async () => {
    const { storage } = setup();
    await expect(CheckpointCoordinator.loadCompleted(storage, 'job', 'latest')).rejects.toMatchObject({ code: 'LSM_NOT_FOUND' });
    const c = await open({ storage, participants: [new Fake('a'), new Fake('b')], retain: 5 });
    const cps = [await c.triggerCheckpoint(), await c.triggerCheckpoint(), await c.triggerCheckpoint()];
    expect(await CheckpointCoordinator.loadCompleted(storage, 'job', 'latest')).toEqual(cps[2]);
    expect(await CheckpointCoordinator.loadCompleted(storage, 'job', 2)).toEqual(cps[1]);
    await expect(CheckpointCoordinator.loadCompleted(storage, 'job', 9)).rejects.toMatchObject({ code: 'LSM_NOT_FOUND' });
    await expect(CheckpointCoordinator.loadCompleted(storage, 'other', 'latest')).rejects.toMatchObject({ code: 'LSM_NOT_FOUND' });
    await expect(CheckpointCoordinator.loadCompleted(storage, '../x', 1)).rejects.toBeInstanceOf(RangeError);
    await expect(CheckpointCoordinator.loadCompleted(storage, 'job', 0)).rejects.toBeInstanceOf(RangeError);
    // A reopened coordinator sees the same checkpoints.
    const again = await open({ storage, participants: [new Fake('a'), new Fake('b')], retain: 5 });
    expect(again.completedCheckpoints()).toEqual(cps);
  });

  it('corrupted metadata is a CorruptionError; open() skips it, keeps its id reserved and never deletes it', async () => {
    const { root, storage } = setup();
    const c = await open({ storage, participants: [new Fake('a')], retain: 2 });
    await c.triggerCheckpoint();
    await c.triggerCheckpoint();
    await c.close();
    const file = join(root, 'jobs', 'job', 'checkpoints', '2.meta');
    const good = readFileSync(file);
    const name = jobCheckpointName('job', 2);

    const flipped = Buffer.from(good);
    flipped[flipped.length - 5] = flipped[flipped.length - 5]! ^ 0x01;
    writeFileSync(file, flipped);
    const err = await rejection(CheckpointCoordinator.loadCompleted(storage, 'job', 'latest'));
    expect(CorruptionError.is(err)).toBe(true);
    expect(err.message).toContain('checksum');
    expect((err as CorruptionError).file).toBe(name);

    const c2 = await open({ storage, participants: [new Fake('a')], retain: 1 });
    expect(c2.completedCheckpoints().map((x) => x.checkpointId)).toEqual([1]);
    expect(c2.unreadableCheckpoints().map((u) => u.checkpointId)).toEqual([2]);
    expect(CorruptionError.is(c2.unreadableCheckpoints()[0]!.error)).toBe(true);
    expect(c2.nextCheckpointId).toBe(3);
    await c2.triggerCheckpoint();
    expect(await metaIds(storage)).toEqual([2, 3]); // 1 subsumed, the unreadable 2 left alone

    // Every validation step.
    const decode = (data: Uint8Array): unknown => decodeJobCheckpoint(data, name, { job: 'job', checkpointId: 2 });
    const body = JSON.parse(good.toString('utf8').slice(good.indexOf(10) + 1)) as Record<string, unknown>;
    expect(decode(good)).toMatchObject({ checkpointId: 2, job: 'job' });
    expect(() => decode(good.subarray(0, good.length - 1))).toThrow(/truncated/);
    expect(() => decode(new TextEncoder().encode('nothing'))).toThrow(CorruptionError);
    expect(() => decode(Buffer.concat([Buffer.from('LSMCKPT'), good.subarray(6)]))).toThrow(/magic/);
    expect(() => decode(frame(body, 'LSMJOBT'))).toThrow(/magic/);
    expect(() => decode(frame({ ...body, checkpointId: 3 }))).toThrow(/checkpointId/);
    expect(() => decode(frame({ ...body, job: 'other' }))).toThrow(/job/);
    expect(() => decode(frame({ ...body, handles: [1] }))).toThrow(/handles/);
    expect(() => decode(frame({ ...body, handles: { '../x': 1 } }))).toThrow(/participant name/);
    expect(() => decode(frame({ ...body, durationMs: -1 }))).toThrow(/durationMs/);
    expect(() => decode(frame({ ...body, createdAt: 'now' }))).toThrow(/createdAt/);
    expect(() => decode(frame({ ...body, formatVersion: 2 }))).toThrow(/formatVersion/);
    expect(() => decode(frame([body]))).toThrow(CorruptionError);
    expect(() => decode(rawFrame('{"formatVersion":1,'))).toThrow(/not JSON/);
    expect(() => decode(frame({ ...body, checkpointId: 3 }))).toThrow(CorruptionError);
    // A newer format version is not corruption: LSM_NOT_SUPPORTED.
    expect(() => decode(frame({ ...body, formatVersion: 2 }, 'LSMJOB', 2))).toThrow(expect.objectContaining({ code: 'LSM_NOT_SUPPORTED' }));
    // Round trip.
    const cp: CompletedCheckpoint = { job: 'job', checkpointId: 7, createdAt: 1, durationMs: 2, handles: { a: [1, 'x', null], b: null } };
    expect(decodeJobCheckpoint(encodeJobCheckpoint(cp), jobCheckpointName('job', 7))).toEqual(cp);
  });

  it('a corrupt LAST-TRIGGERED record fails open() with a CorruptionError', async () => {
    const { root, storage } = setup();
    const c = await open({ storage, participants: [new Fake('a')] });
    await c.triggerCheckpoint();
    await c.close();
    const file = join(root, 'jobs', 'job', 'LAST-TRIGGERED');
    const data = readFileSync(file);
    expect(data.toString('utf8')).toMatch(/^LSMJOBT 1 [0-9a-f]{8} \d+\n/);
    data[data.length - 3] = data[data.length - 3]! ^ 0x04;
    writeFileSync(file, data);
    await expect(CheckpointCoordinator.open({ storage, participants: [new Fake('a')] })).rejects.toBeInstanceOf(CorruptionError);
  });

  it('periodic: start() triggers checkpoints until stop(), skipping ticks while one is in flight', async () => {
    const { storage } = setup();
    const a = new Fake('a');
    const completed: number[] = [];
    const c = await open({ storage, participants: [a], intervalMs: 10, retain: 2, onCompleted: (x) => completed.push(x.checkpointId) });
    c.start();
    c.start(); // no second timer
    await vi.waitFor(() => expect(completed.length).toBeGreaterThanOrEqual(3), { timeout: 5000 });
    c.stop();
    await new Promise((r) => setTimeout(r, 40));
    const n = completed.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(completed.length).toBe(n);
    expect(completed).toEqual(completed.map((_, i) => i + 1));
    expect(await metaIds(storage)).toEqual(completed.slice(-2));

    // A slow participant: ticks while it is in flight are skipped, not queued.
    a.mode = 'manual';
    c.start();
    await vi.waitFor(() => expect(a.snapshots.length).toBe(n + 1));
    await new Promise((r) => setTimeout(r, 60));
    expect(a.snapshots.length).toBe(n + 1);
    c.stop();
    a.deferred.get(n + 1)!.resolve('slow');
    await vi.waitFor(() => expect(completed.length).toBe(n + 1));
  });

  it('periodic failures go to onAborted and lastError, never to unhandled rejections', async () => {
    const { storage } = setup();
    const a = new Fake('a');
    a.mode = 'decline';
    const aborted: [number, unknown][] = [];
    const c = await open({ storage, participants: [a], intervalMs: 10, onAborted: (id, reason) => aborted.push([id, reason]) });
    c.start();
    await vi.waitFor(() => expect(aborted.length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    c.stop();
    expect(LsmError.is(c.lastError, 'LSM_CHECKPOINT_DECLINED')).toBe(true);
    expect(LsmError.is(aborted[0]![1], 'LSM_CHECKPOINT_DECLINED')).toBe(true);
    expect(await metaIds(storage)).toEqual([]);
  });

  it('close() aborts the checkpoint in flight and refuses new triggers', async () => {
    const { storage } = setup();
    const a = new Fake('a');
    const b = new Fake('b');
    b.mode = 'manual';
    const c = await CheckpointCoordinator.open({ storage, participants: [a, b], intervalMs: 1000 });
    c.start();
    const inFlight = c.triggerCheckpoint();
    const queued = c.triggerCheckpoint();
    await vi.waitFor(() => expect(b.snapshots).toEqual([1]));
    await c.close();
    const err = await rejection(inFlight);
    expect(LsmError.is(err, 'LSM_CHECKPOINT_ABORTED')).toBe(true);
    expect(ClosedError.is(err.cause)).toBe(true);
    expect(ClosedError.is(await rejection(queued))).toBe(true);
    expect(a.discards).toEqual([{ id: 1, handle: { participant: 'a', id: 1 } }]);
    expect(b.discards).toEqual([{ id: 1, handle: undefined }]);
    expect(await metaIds(storage)).toEqual([]);
    expect(a.snapshots).toEqual([1]);
    await expect(c.triggerCheckpoint()).rejects.toSatisfy((e: unknown) => ClosedError.is(e));
    expect(() => c.start()).toThrow(ClosedError);
    await c.close(); // idempotent
    b.deferred.get(1)!.resolve('late');
    await vi.waitFor(() => expect(b.discards).toContainEqual({ id: 1, handle: 'late' }));
  });

  it('validates its options', async () => {
    const { storage } = setup();
    const p = [new Fake('a')];
    const bad = async (o: unknown): Promise<unknown> => rejection(CheckpointCoordinator.open(o as CheckpointCoordinatorOptions));
    expect(await bad(undefined)).toBeInstanceOf(TypeError);
    expect(await bad({ participants: p })).toBeInstanceOf(TypeError);
    expect(await bad({ storage, participants: 'a' })).toBeInstanceOf(TypeError);
    expect(await bad({ storage, participants: [] })).toBeInstanceOf(RangeError);
    expect(await bad({ storage, participants: [new Fake('a'), new Fake('a')] })).toBeInstanceOf(RangeError);
    expect(await bad({ storage, participants: [new Fake('a/b')] })).toBeInstanceOf(RangeError);
    expect(await bad({ storage, participants: [new Fake('..')] })).toBeInstanceOf(RangeError);
    expect(await bad({ storage, participants: [{ name: 'x', snapshot: async () => 1 }] })).toBeInstanceOf(TypeError);
    expect(await bad({ storage, participants: [{ name: 1, snapshot: async () => 1, discard: async () => undefined }] })).toBeInstanceOf(TypeError);
    expect(await bad({ storage, participants: p, job: 'a/b' })).toBeInstanceOf(RangeError);
    expect(await bad({ storage, participants: p, job: '' })).toBeInstanceOf(RangeError);
    expect(await bad({ storage, participants: p, job: 3 })).toBeInstanceOf(TypeError);
    expect(await bad({ storage, participants: p, retain: 0 })).toBeInstanceOf(RangeError);
    expect(await bad({ storage, participants: p, retain: 1.5 })).toBeInstanceOf(RangeError);
    expect(await bad({ storage, participants: p, retain: '2' })).toBeInstanceOf(TypeError);
    expect(await bad({ storage, participants: p, timeoutMs: 0 })).toBeInstanceOf(RangeError);
    expect(await bad({ storage, participants: p, timeoutMs: Infinity })).toBeInstanceOf(RangeError);
    expect(await bad({ storage, participants: p, intervalMs: -1 })).toBeInstanceOf(RangeError);
    expect(await bad({ storage, participants: p, onCompleted: 1 })).toBeInstanceOf(TypeError);
    const c = await open({ storage, participants: p });
    expect(() => c.start()).toThrow(RangeError); // no intervalMs
  });
});
