/**
 * Model-based test of Database over MemFileSystem: random command sequences (put, delete,
 * batches, gets, snapshots held across later writes, bounded/reverse/limited scans, flushes,
 * event-loop turns that let inline flushes run, close + reopen) with a 4 KiB write buffer, so
 * memtables freeze and flush constantly. After every command the database (and every live
 * snapshot) must agree with a Map model. Run with the WAL on, and with it off (where the only
 * reopen is after a clean close, which flushes).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Database, type DbIterator, MemFileSystem, type Snapshot, WriteBatch } from '../../src/index.js';
import type { CompressionName } from '../../src/index.js';
import {
  type CompactionConfig, type IterSpec, type Model, KEY_POOL, compactBoundsArb, compactionConfigArb, checkAgainstModel, expectedScan, iterSpecArb, iteratorOptions, keyIndexArb, keyOf, scan, valueArb,
} from '../helpers/db-model.js';
import { PROPERTY_TIMEOUT, fcParams, hex } from '../helpers/fc-params.js';

type Cmd =
  | { t: 'put'; k: number; v: Uint8Array }
  | { t: 'del'; k: number }
  | { t: 'batch'; ops: { k: number; v: Uint8Array | undefined }[] }
  | { t: 'get'; k: number }
  | { t: 'snapshot' }
  | { t: 'release'; i: number }
  | { t: 'iter'; spec: IterSpec; snap: number | undefined }
  | { t: 'open'; spec: IterSpec }
  | { t: 'step'; i: number; n: number }
  | { t: 'sync' }
  | { t: 'flush' }
  | { t: 'compact'; start?: string; end?: string }
  | { t: 'tick' }
  | { t: 'reopen' };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant('put' as const), k: keyIndexArb, v: valueArb }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('del' as const), k: keyIndexArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('batch' as const),
      ops: fc.array(fc.record({ k: keyIndexArb, v: fc.option(valueArb, { nil: undefined }) }), { minLength: 1, maxLength: 6 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('get' as const), k: keyIndexArb }) },
  { weight: 2, arbitrary: fc.constant({ t: 'snapshot' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('release' as const), i: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('iter' as const), spec: iterSpecArb, snap: fc.option(fc.nat(3), { nil: undefined }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('open' as const), spec: iterSpecArb }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('step' as const), i: fc.nat(1), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'sync' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'flush' as const }) },
  { weight: 1, arbitrary: compactBoundsArb.map((b) => ({ t: 'compact' as const, ...b })) },
  { weight: 2, arbitrary: fc.constant({ t: 'tick' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'reopen' as const }) },
);

interface Config {
  restart: number;
  compression: CompressionName;
  bloom: number;
  cache: number;
  maxOpenFiles: number;
  maxWriteBufferNumber: number;
  compaction: CompactionConfig;
}

const configArb: fc.Arbitrary<Config> = fc.record({
  restart: fc.integer({ min: 1, max: 4 }),
  compression: fc.constantFrom<CompressionName>('none', 'lz4'),
  bloom: fc.constantFrom(0, 10),
  cache: fc.constantFrom(0, 2048, 1 << 20),
  maxOpenFiles: fc.constantFrom(16, 5000),
  maxWriteBufferNumber: fc.integer({ min: 2, max: 4 }),
  compaction: compactionConfigArb,
});

function describeCmd(c: Cmd): string {
  switch (c.t) {
    case 'put': return `put(${KEY_POOL[c.k]}, ${c.v.length}B)`;
    case 'del': return `del(${KEY_POOL[c.k]})`;
    case 'batch': return `batch(${c.ops.map((o) => (o.v ? `put ${KEY_POOL[o.k]}` : `del ${KEY_POOL[o.k]}`)).join(', ')})`;
    case 'get': return `get(${KEY_POOL[c.k]})`;
    case 'release': return `release(${c.i})`;
    case 'iter': return `iter(${JSON.stringify(c.spec)}, snap ${c.snap})`;
    case 'open': return `open iterator(${JSON.stringify(c.spec)})`;
    case 'step': return `step(iterator ${c.i}, ${c.n})`;
    case 'compact': return `compactRange(${c.start ?? '-'}, ${c.end ?? '-'})`;
    default: return c.t;
  }
}

async function runCommands(config: Config, wal: boolean, cmds: Cmd[], checkEvery = 1): Promise<void> {
  const fs = new MemFileSystem();
  const options = {
    fileSystem: fs, wal, writeBufferSize: 4096, blockSize: 256, blockRestartInterval: config.restart,
    compression: config.compression, bloomBitsPerKey: config.bloom, blockCacheSize: config.cache,
    maxOpenFiles: config.maxOpenFiles, maxWriteBufferNumber: config.maxWriteBufferNumber, ...config.compaction,
  };
  let db = await Database.open('/db', options);
  const model: Model = new Map();
  let snaps: { snap: Snapshot; model: Model }[] = [];
  // Iterators held across later commands: each must keep returning the view it was opened on.
  let iters: { it: DbIterator; expected: [string, string][]; at: number }[] = [];
  const done: string[] = [];
  try {
    for (const c of cmds) {
      done.push(describeCmd(c));
      const what = `after ${done.join('; ')}`;
      switch (c.t) {
        case 'put':
          db.put(keyOf(c.k), c.v);
          model.set(KEY_POOL[c.k]!, c.v);
          break;
        case 'del':
          db.delete(keyOf(c.k));
          model.delete(KEY_POOL[c.k]!);
          break;
        case 'batch': {
          const batch = new WriteBatch();
          for (const o of c.ops) {
            if (o.v === undefined) {
              batch.delete(keyOf(o.k));
              model.delete(KEY_POOL[o.k]!);
            } else {
              batch.put(keyOf(o.k), o.v);
              model.set(KEY_POOL[o.k]!, o.v);
            }
          }
          db.write(batch);
          break;
        }
        case 'get': {
          const got = db.get(keyOf(c.k));
          const want = model.get(KEY_POOL[c.k]!);
          expect(got === undefined ? undefined : hex(got), what).toBe(want === undefined ? undefined : hex(want));
          break;
        }
        case 'snapshot':
          if (snaps.length < 4) snaps.push({ snap: db.snapshot(), model: new Map(model) });
          break;
        case 'release': {
          const s = snaps[c.i];
          if (s !== undefined) {
            s.snap.release();
            snaps = snaps.filter((x) => x !== s);
          }
          break;
        }
        case 'iter': {
          const s = c.snap === undefined ? undefined : snaps[c.snap];
          expect(scan(db, c.spec, s?.snap), what).toEqual(expectedScan(s?.model ?? model, c.spec));
          break;
        }
        case 'open':
          if (iters.length < 2) iters.push({ it: db.iterator(iteratorOptions(c.spec)), expected: expectedScan(model, c.spec), at: 0 });
          break;
        case 'step': {
          const held = iters[c.i];
          if (held === undefined) break;
          for (let n = 0; n < c.n; n++) {
            const r = held.it.next();
            const want = held.expected[held.at];
            expect(r.done ? undefined : [hex(r.value[0]), hex(r.value[1])], what).toEqual(want);
            if (r.done) {
              iters = iters.filter((x) => x !== held);
              break;
            }
            held.at++;
          }
          break;
        }
        case 'sync':
          await db.sync();
          break;
        case 'flush':
          await db.flush();
          break;
        case 'compact': {
          const bound = (k: string | undefined): Uint8Array | undefined => (k === undefined ? undefined : new Uint8Array(Buffer.from(k, 'hex')));
          await db.compactRange(bound(c.start), bound(c.end));
          break;
        }
        case 'tick':
          await new Promise((r) => setImmediate(r));
          break;
        case 'reopen':
          for (const s of snaps) s.snap.release();
          snaps = [];
          for (const held of iters) held.it.close();
          iters = [];
          await db.close();
          db = await Database.open('/db', options);
          break;
      }
      if (done.length % checkEvery !== 0) continue;
      checkAgainstModel(db, model, what);
      for (const [i, s] of snaps.entries()) checkAgainstModel(db, s.model, `${what} (snapshot ${i})`, s.snap);
    }
    for (const held of iters) held.it.close();
    expect(db.stats().openIterators).toBe(0);
    await db.close();
    db = await Database.open('/db', options);
    checkAgainstModel(db, model, `after ${done.join('; ')}; final reopen`);
  } finally {
    await db.close();
  }
}

describe('Database agrees with a Map model', () => {
  it('with the WAL on', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(cmdArb, { maxLength: 60, size: 'max' }), (config, cmds) => runCommands(config, true, cmds)),
      fcParams(120, 2000),
    );
  }, PROPERTY_TIMEOUT);

  it('with the WAL off (reopen only after a clean close)', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(cmdArb, { maxLength: 60, size: 'max' }), (config, cmds) => runCommands(config, false, cmds)),
      fcParams(120, 2000),
    );
  }, PROPERTY_TIMEOUT);

  it('over long histories (dozens of level-0 tables, table cache evictions), checked every 20 commands', async () => {
    const long = fc.array(cmdArb, { minLength: 200, maxLength: 400 });
    await fc.assert(
      fc.asyncProperty(configArb, fc.boolean(), long, (config, wal, cmds) => runCommands({ ...config, maxOpenFiles: 16 }, wal, cmds, 20)),
      fcParams(10, 200),
    );
  }, PROPERTY_TIMEOUT);
});
