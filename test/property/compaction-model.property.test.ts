/**
 * Model-based test of compaction: random workloads (put, delete, merge, deleteRange, snapshot,
 * flush, compactRange, reopen, crash) on tiny buffers and files so flushes and compactions run
 * constantly, in both styles, checked against an in-memory model after every step. Every write
 * is synced, so a crash clone must show exactly the model; snapshots must keep their view
 * across compactions. Seeds print on failure (FC_SEED replays).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Database, MemFileSystem, type Snapshot } from '../../src/index.js';
import { createConcat } from '../../src/compaction/builtin-operators.js';
import type { DatabaseOptions } from '../../src/db/options.js';
import { fcParams } from '../helpers/fc-params.js';

type Model = Map<string, string>;

type Cmd =
  | { op: 'put'; k: number; v: string }
  | { op: 'del'; k: number }
  | { op: 'merge'; k: number; v: string }
  | { op: 'range'; a: number; b: number }
  | { op: 'snap' }
  | { op: 'release' }
  | { op: 'flush' }
  | { op: 'compact'; a?: number; b?: number }
  | { op: 'reopen' }
  | { op: 'crash' };

const KEYS = 60;
const keyOf = (k: number): string => `key${String(k).padStart(3, '0')}`;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 30, arbitrary: fc.record({ op: fc.constant('put' as const), k: fc.nat(KEYS - 1), v: fc.string({ maxLength: 60 }) }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('del' as const), k: fc.nat(KEYS - 1) }) },
  { weight: 10, arbitrary: fc.record({ op: fc.constant('merge' as const), k: fc.nat(KEYS - 1), v: fc.string({ minLength: 1, maxLength: 8 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('range' as const), a: fc.nat(KEYS), b: fc.nat(KEYS) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'snap' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'release' as const }) },
  { weight: 3, arbitrary: fc.constant({ op: 'flush' as const }) },
  { weight: 2, arbitrary: fc.oneof(fc.constant({ op: 'compact' as const }), fc.record({ op: fc.constant('compact' as const), a: fc.nat(KEYS), b: fc.nat(KEYS) })) },
  { weight: 1, arbitrary: fc.constant({ op: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'crash' as const }) },
);

function apply(model: Model, c: Cmd): void {
  if (c.op === 'put') model.set(keyOf(c.k), c.v);
  else if (c.op === 'del') model.delete(keyOf(c.k));
  else if (c.op === 'merge') model.set(keyOf(c.k), (model.get(keyOf(c.k)) ?? '') + c.v);
  else if (c.op === 'range') {
    for (const k of [...model.keys()]) if (k >= keyOf(Math.min(c.a, c.b)) && k < keyOf(Math.max(c.a, c.b))) model.delete(k);
  }
}

function check(db: Database, model: Model, snapshot?: Snapshot): void {
  const expected = [...model.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1));
  const opts = snapshot ? { snapshot } : {};
  const actual = [...db.iterator(opts)].map(([k, v]) => [dec(k), dec(v)]);
  expect(actual).toEqual(expected);
  const reverse = [...db.iterator({ ...opts, reverse: true })].map(([k, v]) => [dec(k), dec(v)]);
  expect(reverse).toEqual([...expected].reverse());
  for (let k = 0; k < KEYS; k += 7) {
    const got = db.get(enc(keyOf(k)), opts);
    expect(got === undefined ? undefined : dec(got)).toBe(model.get(keyOf(k)));
  }
}

async function run(style: 'leveled' | 'universal', split: boolean, cmds: Cmd[]): Promise<void> {
  let fs = new MemFileSystem();
  // split: three compaction workers, each compaction cut into up to three key ranges.
  const concurrency = split ? { maxBackgroundJobs: 4, maxSubcompactions: 3 } : { maxBackgroundJobs: 2 };
  const options = (): DatabaseOptions => ({
    ...concurrency, fileSystem: fs, compactionStyle: style, mergeOperator: createConcat(), compression: 'none',
    writeBufferSize: 4096, targetFileSizeBase: 2048, maxBytesForLevelBase: 8192, level0FileNumCompactionTrigger: 2,
    blockSize: 256,
  });
  let db = await Database.open('/db', options());
  const model: Model = new Map();
  let snap: { snapshot: Snapshot; model: Model } | undefined;
  try {
    for (const c of cmds) {
      switch (c.op) {
        case 'put': db.put(enc(keyOf(c.k)), enc(c.v), { sync: true }); break;
        case 'del': db.delete(enc(keyOf(c.k)), { sync: true }); break;
        case 'merge': db.merge(enc(keyOf(c.k)), enc(c.v), { sync: true }); break;
        case 'range': db.deleteRange(enc(keyOf(Math.min(c.a, c.b))), enc(keyOf(Math.max(c.a, c.b))), { sync: true }); break;
        case 'snap': snap?.snapshot.release(); snap = { snapshot: db.snapshot(), model: new Map(model) }; break;
        case 'release': snap?.snapshot.release(); snap = undefined; break;
        case 'flush': await db.flush(); break;
        case 'compact': await db.compactRange(c.a === undefined ? undefined : enc(keyOf(c.a)), c.b === undefined ? undefined : enc(keyOf(c.b))); break;
        case 'reopen':
        case 'crash':
          snap = undefined;
          if (c.op === 'crash') {
            fs = fs.crashClone();
          } else {
            await db.close();
          }
          if (c.op === 'crash') await db.close().catch(() => undefined);
          db = await Database.open('/db', options());
          break;
      }
      apply(model, c);
      // let inline background jobs run between steps
      await new Promise((r) => setImmediate(r));
      check(db, model);
      if (snap) check(db, snap.model, snap.snapshot);
    }
  } finally {
    if (!db.isClosed) {
      const s = db.stats();
      totals.compactions += s.compaction.count + s.compaction.trivialMoves;
      totals.subcompactions += s.compaction.subcompactions;
      totals.intraL0 += s.compaction.intraL0;
      totals.deeperFiles += s.levels.slice(1).reduce((n, l) => n + l.files, 0);
    }
    await db.close().catch(() => undefined);
  }
}

/**
 * Appended to the split runs: two rounds over every key, flushed, then a full compaction, whose
 * inputs always span enough keys and bytes to be cut into ranges (random runs may not get there).
 */
const SPLIT_TAIL: Cmd[] = [0, 1].flatMap((round) => [
  ...Array.from({ length: KEYS }, (_, k): Cmd => ({ op: 'put', k, v: `tail${round}-${k}-${'z'.repeat(40)}` })),
  { op: 'flush' } as Cmd,
]).concat([{ op: 'compact' }]);

/** Work the runs did, so the test fails if compactions stop happening at all. */
const totals = { compactions: 0, deeperFiles: 0, subcompactions: 0, intraL0: 0 };

describe('compaction agrees with the model', () => {
  for (const style of ['leveled', 'universal'] as const) {
    for (const split of [false, true]) {
      const name = `${style}${split ? ' with subcompactions' : ''}`;
      it(`${name}: random workloads with merges, range deletes, snapshots, manual compactions, reopens and crashes`, async () => {
        totals.compactions = 0;
        totals.deeperFiles = 0;
        totals.subcompactions = 0;
        totals.intraL0 = 0;
        await fc.assert(fc.asyncProperty(fc.array(cmd, { minLength: 20, maxLength: 120 }), (cmds) => run(style, split, split ? [...cmds, ...SPLIT_TAIL] : cmds)), fcParams(split ? 15 : 25));
        expect(totals.compactions).toBeGreaterThan(10);
        expect(totals.deeperFiles).toBeGreaterThan(0);
        if (split) expect(totals.subcompactions).toBeGreaterThan(0);
      });
    }
  }
});
