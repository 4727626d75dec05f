/**
 * Crash recovery on MemFileSystem: random workloads with synced and unsynced writes, crashes
 * (crashClone, optionally keeping a random torn prefix of unsynced bytes) at random points,
 * including inside the engine's own file operations (mid-flush, between a table's sync and the
 * MANIFEST edit, while CURRENT is replaced). Then corruption (data block, CURRENT, MANIFEST,
 * missing table) and injected I/O faults.
 *
 * What a crash may lose. Let the history be the model states s_0 (empty), s_1, ... where s_i is
 * the state after the i-th workload step. A step that completes a sync (a write with
 * { sync: true }, `await db.sync()`, or `await db.flush()`) makes its state durable: call the
 * index of the last such state S. A crash taken during step c (or between steps c and c+1) may
 * keep any later write up to s_c. So after recovery, for every key, its value (or absence) must
 * equal s_t(key) for some t with S <= t <= c, and no key outside the workload's keys may exist.
 * Stronger, and also checked: the whole database equals one s_t with S <= t <= c (recovery
 * yields a prefix of the history, so batches are atomic and no write survives an earlier one it
 * followed).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptionError, Database, LsmError, MemFileSystem, WriteBatch } from '../../src/index.js';
import type { DatabaseOptions } from '../../src/index.js';
import { TableReader } from '../../src/sstable/table-reader.js';
import { BlockCache } from '../../src/sstable/block-cache.js';
import { CrashFs } from '../helpers/crash-fs.js';
import { KEY_POOL, type Model, checkAgainstModel, keyIndexArb, keyOf, valueArb } from '../helpers/db-model.js';
import { fcParams, hex, seededRandom } from '../helpers/fc-params.js';
import { bytes, text } from '../helpers/temp-dir.js';

type Step =
  | { t: 'put'; k: number; v: Uint8Array; sync: boolean }
  | { t: 'del'; k: number; sync: boolean }
  | { t: 'batch'; ops: { k: number; v: Uint8Array | undefined }[]; sync: boolean }
  | { t: 'sync' }
  | { t: 'flush' }
  | { t: 'tick' }
  | { t: 'crash' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant('put' as const), k: keyIndexArb, v: valueArb, sync: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('del' as const), k: keyIndexArb, sync: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('batch' as const),
      ops: fc.array(fc.record({ k: keyIndexArb, v: fc.option(valueArb, { nil: undefined }) }), { minLength: 1, maxLength: 5 }),
      sync: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ t: 'sync' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'flush' as const }) },
  { weight: 3, arbitrary: fc.constant({ t: 'tick' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'crash' as const }) },
);

interface Capture {
  fs: MemFileSystem;
  /** Index of the last durable state. */
  s: number;
  /** Index of the newest state the crash may show. */
  c: number;
  label: string;
}

const baseOptions = (fs: MemFileSystem | CrashFs, wal: boolean): DatabaseOptions => ({
  fileSystem: fs, wal, writeBufferSize: 4096, blockSize: 256, blockRestartInterval: 2, compression: 'lz4',
});

function apply(model: Model, step: Step): Model {
  const next = new Map(model);
  if (step.t === 'put') next.set(KEY_POOL[step.k]!, step.v);
  else if (step.t === 'del') next.delete(KEY_POOL[step.k]!);
  else if (step.t === 'batch') for (const o of step.ops) o.v === undefined ? next.delete(KEY_POOL[o.k]!) : next.set(KEY_POOL[o.k]!, o.v);
  return next;
}

async function execute(db: Database, step: Step, wal: boolean): Promise<boolean> {
  const sync = 'sync' in step && typeof step.sync === 'boolean' ? { sync: step.sync } : undefined;
  switch (step.t) {
    case 'put':
      db.put(keyOf(step.k), step.v, sync);
      return wal && step.sync;
    case 'del':
      db.delete(keyOf(step.k), sync);
      return wal && step.sync;
    case 'batch': {
      const batch = new WriteBatch();
      for (const o of step.ops) o.v === undefined ? batch.delete(keyOf(o.k)) : batch.put(keyOf(o.k), o.v);
      db.write(batch, sync);
      return wal && step.sync;
    }
    case 'sync':
      await db.sync();
      return wal;
    case 'flush':
      await db.flush();
      return true;
    case 'tick':
      await new Promise((r) => setImmediate(r));
      return false;
    case 'crash':
      return false;
  }
}

/** Runs the workload, capturing crash clones at explicit steps and at the given fs events. */
async function runWorkload(
  steps: Step[], crashEvents: number[], tornSeed: number | undefined, wal: boolean,
): Promise<{ captures: Capture[]; states: Model[]; events: number }> {
  const mem = new MemFileSystem();
  const fs = new CrashFs(mem);
  const states: Model[] = [new Map()];
  const captures: Capture[] = [];
  const rng = tornSeed === undefined ? undefined : seededRandom(tornSeed);
  let durable = 0;
  let label = 'open';
  // The newest state a crash right now may show: the result of the step in progress.
  let newest = 0;
  const take = (why: string): void => {
    const clone = mem.crashClone(rng === undefined ? {} : { keepUnsyncedFraction: (n) => rng.nextInt(n) });
    captures.push({ fs: clone, s: durable, c: newest, label: `${why} during ${label}` });
  };
  const wanted = new Set(crashEvents);
  fs.hook = (phase, event, path) => {
    if (phase === 'before' && wanted.has(fs.events)) take(`crash before ${event} ${path} (event ${fs.events})`);
  };
  const db = await Database.open('/db', baseOptions(fs, wal));
  try {
    for (const [i, step] of steps.entries()) {
      label = `step ${i} (${step.t})`;
      if (step.t === 'crash') {
        captures.push({ fs: mem.crashClone(rng === undefined ? {} : { keepUnsyncedFraction: (n) => rng.nextInt(n) }), s: durable, c: states.length - 1, label });
        continue;
      }
      const next = apply(states[states.length - 1]!, step);
      newest = states.length;
      const synced = await execute(db, step, wal);
      states.push(next);
      if (synced) durable = states.length - 1;
    }
    label = 'end';
    captures.push({ fs: mem.crashClone(rng === undefined ? {} : { keepUnsyncedFraction: (n) => rng.nextInt(n) }), s: durable, c: states.length - 1, label: 'crash at the end' });
  } finally {
    fs.hook = undefined;
    await db.close();
  }
  return { captures, states, events: fs.events };
}

const show = (v: Uint8Array | undefined): string => (v === undefined ? 'absent' : `${v.length}B:${hex(v).slice(0, 16)}`);

function sameState(a: Map<string, string>, b: Model): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of b) if (a.get(k) !== hex(v)) return false;
  return true;
}

async function verifyCapture(cap: Capture, states: Model[], wal: boolean): Promise<void> {
  const what = `${cap.label}; durable state ${cap.s}, newest possible ${cap.c}`;
  let db = await Database.open('/db', baseOptions(cap.fs, wal));
  try {
    const got = new Map<string, string>();
    for (const [k, v] of db.iterator()) got.set(hex(k), hex(v));
    for (const k of got.keys()) expect(KEY_POOL.includes(k), `${what}: unexpected key ${k}`).toBe(true);
    const window = states.slice(cap.s, cap.c + 1);
    for (const [i, k] of KEY_POOL.entries()) {
      const value = db.get(keyOf(i));
      expect(value === undefined ? undefined : hex(value), `${what}: get(${k}) disagrees with the scan`).toBe(got.get(k));
      const allowed = window.map((st) => st.get(k));
      const ok = allowed.some((a) => (a === undefined ? !got.has(k) : got.get(k) === hex(a)));
      expect(ok, `${what}: key ${k} is ${got.get(k)?.slice(0, 16) ?? 'absent'}, allowed ${allowed.map(show).join(' | ')}`).toBe(true);
    }
    expect(window.some((st) => sameState(got, st)), `${what}: not a prefix of the history`).toBe(true);
    // No table left behind that the MANIFEST does not name (orphans of interrupted flushes).
    const tables = cap.fs.list('/db').filter((n) => n.endsWith('.sst')).length;
    expect(tables, `${what}: unreferenced tables`).toBe(db.stats().levels.reduce((n, l) => n + l.files, 0));
    // Recovery must leave a database that keeps working: later writes win after a reopen.
    const after: Model = new Map([...got].map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'hex'))]));
    for (const [i, k] of KEY_POOL.entries()) {
      if (i % 3 === 0) {
        const v = bytes(`after-crash-${i}`);
        db.put(keyOf(i), v);
        after.set(k, v);
      } else if (i % 3 === 1) {
        db.delete(keyOf(i));
        after.delete(k);
      }
    }
    await db.close();
    db = await Database.open('/db', baseOptions(cap.fs, wal));
    checkAgainstModel(db, after, `${what}: reopened after post-recovery writes`);
  } finally {
    await db.close();
  }
}

const workloadArb = fc.record({
  steps: fc.array(stepArb, { minLength: 5, maxLength: 60, size: 'max' }),
  /** Where to crash inside the engine's file operations, as fractions of all of them. */
  crashAt: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
  torn: fc.option(fc.integer(), { nil: undefined }),
});

/**
 * Runs the workload once to count its file-system events (it is deterministic), then again with
 * crash clones at the chosen events and at its explicit crash steps, and verifies every clone.
 */
async function crashAndVerify(w: { steps: Step[]; crashAt: number[]; torn: number | undefined }, wal: boolean): Promise<void> {
  const { events } = await runWorkload(w.steps, [], undefined, wal);
  const at = w.crashAt.map((f) => 1 + Math.min(events - 1, Math.floor(f * events)));
  const { captures, states } = await runWorkload(w.steps, at, w.torn, wal);
  for (const cap of captures) await verifyCapture(cap, states, wal);
}

describe('crash recovery (random workloads)', () => {
  it('with the WAL: every write acknowledged before the last sync survives, and nothing else appears', async () => {
    await fc.assert(
      fc.asyncProperty(workloadArb, (w) => crashAndVerify(w, true)),
      fcParams(25, 800),
    );
  });

  it('with the WAL off: a crash shows the state of some flush at or after the last completed one', async () => {
    await fc.assert(
      fc.asyncProperty(workloadArb, (w) => crashAndVerify(w, false)),
      fcParams(15, 400),
    );
  });
});
