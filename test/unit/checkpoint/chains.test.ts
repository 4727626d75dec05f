/**
 * Several participants sharing one CheckpointStorage: named chains (checkpoints/<chain>/<id>.meta),
 * explicit checkpoint ids, application data in the metadata, retain: Infinity with discard(id),
 * and restores that pick a chain and a subset of the tables.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CheckpointFile, type CheckpointStorage as Storage, CheckpointStorage, Checkpointer, CorruptionError, Database, LsmError,
  listCheckpointChains, listCheckpointIds, readCheckpointMetadata, restoreCheckpoint,
} from '../../../src/index.js';
import type { DatabaseOptions } from '../../../src/db/options.js';
import { decodeMetadata, encodeMetadata, fromHex, metadataName } from '../../../src/checkpoint/metadata.js';
import { RESTORE_RECORD_NAME } from '../../../src/checkpoint/restore.js';
import { bytes, tempDir, text } from '../../helpers/temp-dir.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const small: DatabaseOptions = { writeBufferSize: 16 * 1024, targetFileSizeBase: 16 * 1024, level0FileNumCompactionTrigger: 4 };
const key = (i: number): string => `user:${String(i).padStart(6, '0')}`;

function setup(): { root: string; storage: Storage } {
  const d = tempDir('lsm-chains-');
  cleanups.push(d.cleanup);
  return { root: d.path, storage: CheckpointStorage.directory(join(d.path, 'store')) };
}

async function openDb(dir: string): Promise<Database> {
  const db = await Database.open(dir, small);
  cleanups.push(async () => {
    if (!db.isClosed) await db.close();
  });
  return db;
}

function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Model = Map<string, string>;

function mutate(db: Database, model: Model, rand: () => number, ops: number, keySpace: number): void {
  for (let n = 0; n < ops; n++) {
    const k = key(Math.floor(rand() * keySpace));
    if (rand() < 0.15) {
      db.delete(bytes(k));
      model.delete(k);
    } else {
      const v = `v=${Math.floor(rand() * 1e6)};${'x'.repeat(Math.floor(rand() * 60))}`;
      db.put(bytes(k), bytes(v));
      model.set(k, v);
    }
  }
}

function dump(db: Database): Model {
  const m: Model = new Map();
  for (const [k, v] of db.iterator()) m.set(text(k)!, text(v)!);
  return m;
}

async function restoredState(storage: Storage, id: number | 'latest', dir: string, options: Parameters<typeof restoreCheckpoint>[3] = {}): Promise<Model> {
  await restoreCheckpoint(storage, id, dir, options);
  const db = await Database.open(dir, small);
  try {
    return dump(db);
  } finally {
    await db.close();
  }
}

/** Table objects in storage, the ones some metadata (of any chain) references, and every metadata name. */
async function storageState(storage: Storage): Promise<{ objects: string[]; referenced: string[]; metas: string[] }> {
  const objects = [...(await storage.list('shared/')), ...(await storage.list('full/'))].map((o) => o.name).sort();
  const referenced = new Set<string>();
  const metas: string[] = [];
  for (const o of await storage.list('checkpoints/')) {
    const m = decodeMetadata(await storage.getBytes(o.name), o.name);
    metas.push(o.name);
    for (const f of m.files) referenced.add(f.storageName);
  }
  return { objects, referenced: [...referenced].sort(), metas: metas.sort() };
}

/** `inner` with some methods replaced. */
function wrap(inner: Storage, over: Partial<Storage>): Storage {
  return {
    description: inner.description,
    putFile: (n, p) => inner.putFile(n, p),
    putBytes: (n, d) => inner.putBytes(n, d),
    getBytes: (n) => inner.getBytes(n),
    downloadFile: (n, p) => inner.downloadFile(n, p),
    list: (p) => inner.list(p),
    delete: (n) => inner.delete(n),
    close: () => inner.close(),
    ...over,
  };
}

async function expectNoLeaks(storage: Storage): Promise<void> {
  const st = await storageState(storage);
  expect(st.objects).toEqual(st.referenced);
}

describe('chains', () => {
  it('rejects chain names that are not one plain name segment', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    for (const bad of ['', 'a/b', '.', '..', 'a b', 'ä', '../x', 'x\n']) {
      expect(() => new Checkpointer(db, storage, { chain: bad })).toThrow(RangeError);
    }
    expect(() => new Checkpointer(db, storage, { chain: 42 as unknown as string })).toThrow(RangeError);
    for (const good of ['a', 'job-1.operator_7', '...', '0']) expect(new Checkpointer(db, storage, { chain: good }).chain).toBe(good);
    expect(new Checkpointer(db, storage).chain).toBeNull();
    await expect(readCheckpointMetadata(storage, 'latest', { chain: 'a/b' })).rejects.toThrow(RangeError);
    await expect(listCheckpointIds(storage, { chain: '..' })).rejects.toThrow(RangeError);
  });

  it('a chain writes checkpoints/<chain>/<id>.meta recording its chain; ids are per chain; no chain keeps the old names and fields', async () => {
    const { root, storage } = setup();
    const dbA = await openDb(join(root, 'a'));
    const dbU = await openDb(join(root, 'u'));
    const rand = rng(1);
    mutate(dbA, new Map(), rand, 1500, 2000);
    mutate(dbU, new Map(), rand, 1500, 2000);
    const a = new Checkpointer(dbA, storage, { chain: 'orders' });
    const u = new Checkpointer(dbU, storage);
    const u1 = await u.checkpoint();
    const u2 = await u.checkpoint();
    const a1 = await a.checkpoint();
    const a2 = await a.checkpoint();
    expect([u1.checkpointId, u2.checkpointId, a1.checkpointId, a2.checkpointId]).toEqual([1, 2, 1, 2]);
    expect(u1.chain).toBeNull();
    expect(a1.chain).toBe('orders');
    expect((await storageState(storage)).metas).toEqual(['checkpoints/1.meta', 'checkpoints/2.meta', 'checkpoints/orders/1.meta', 'checkpoints/orders/2.meta']);

    const body = (name: string): Record<string, unknown> => {
      const raw = readFileSync(join(root, 'store', ...name.split('/')), 'utf8');
      return JSON.parse(raw.slice(raw.indexOf('\n') + 1)) as Record<string, unknown>;
    };
    expect(Object.keys(body('checkpoints/1.meta'))).not.toContain('chain');
    expect(Object.keys(body('checkpoints/1.meta'))).not.toContain('application');
    expect(body('checkpoints/orders/2.meta').chain).toBe('orders');
    expect(body('checkpoints/orders/2.meta').parentId).toBe(1);

    const meta = await readCheckpointMetadata(storage, 'latest', { chain: 'orders' });
    expect(meta.chain).toBe('orders');
    expect(meta.dbId).toBe(dbA.id);
    expect((await readCheckpointMetadata(storage, 'latest')).dbId).toBe(dbU.id);
    expect((await readCheckpointMetadata(storage, 2)).chain).toBeUndefined();
    expect(await listCheckpointIds(storage)).toEqual([1, 2]);
    expect(await listCheckpointIds(storage, { chain: 'orders' })).toEqual([1, 2]);
    expect(await listCheckpointChains(storage)).toEqual(['orders']);
    await expect(readCheckpointMetadata(storage, 'latest', { chain: 'nothing' })).rejects.toSatisfy((e) => LsmError.is(e, 'LSM_NOT_FOUND'));
    expect(await a.retainedCheckpoints()).toEqual([1, 2]);
    expect(await u.retainedCheckpoints()).toEqual([1, 2]);
  });

  it('databases with different chains (and one without) checkpoint concurrently into one storage without interfering', async () => {
    const { root, storage } = setup();
    const participants = [
      { chain: 'a' as string | undefined, mode: 'incremental' as const, seed: 11 },
      { chain: 'b', mode: 'full' as const, seed: 12 },
      { chain: 'c', mode: 'incremental' as const, seed: 13 },
      { chain: undefined, mode: 'incremental' as const, seed: 14 },
    ];
    const parts = await Promise.all(participants.map(async (p, i) => {
      const db = await openDb(join(root, `db${i}`));
      const options = { mode: p.mode, retain: 2, concurrency: 3, ...(p.chain === undefined ? {} : { chain: p.chain }) };
      return { ...p, db, ck: new Checkpointer(db, storage, options), model: new Map() as Model, rand: rng(p.seed), taken: new Map<number, Model>() };
    }));
    for (let round = 0; round < 6; round++) {
      for (const p of parts) mutate(p.db, p.model, p.rand, round === 0 ? 2500 : 400, 3000);
      if (round === 3) await Promise.all(parts.map((p) => p.db.compactRange()));
      // every participant checkpoints at the same time, twice in a row (the second queued behind the first)
      const results = await Promise.all(parts.flatMap((p) => [p.ck.checkpoint(), p.ck.checkpoint()]));
      parts.forEach((p, i) => {
        const [r1, r2] = [results[2 * i]!, results[2 * i + 1]!];
        expect(r1.chain).toBe(p.chain ?? null);
        expect(r2.checkpointId).toBe(r1.checkpointId + 1);
        expect(r1.checkpointId).toBe(2 * round + 1); // ids per chain, unaffected by the others
        p.taken.set(r1.checkpointId, new Map(p.model));
        p.taken.set(r2.checkpointId, new Map(p.model));
      });
      await expectNoLeaks(storage);
      for (const p of parts) {
        const ids = await listCheckpointIds(storage, p.chain === undefined ? {} : { chain: p.chain });
        expect(ids).toEqual([2 * round + 1, 2 * round + 2]);
        expect(await p.ck.retainedCheckpoints()).toEqual(ids);
      }
    }
    const st = await storageState(storage);
    const full = st.objects.filter((n) => n.startsWith('full/'));
    expect(full.length).toBeGreaterThan(0);
    expect(full.every((n) => n.startsWith('full/b/'))).toBe(true);
    expect(await listCheckpointChains(storage)).toEqual(['a', 'b', 'c']);
    let n = 0;
    for (const p of parts) {
      for (const id of await p.ck.retainedCheckpoints()) {
        const got = await restoredState(storage, id, join(root, `r${n++}`), p.chain === undefined ? {} : { chain: p.chain });
        expect(got).toEqual(p.taken.get(id));
      }
    }
  });

  it('a table referenced by a retained checkpoint of another chain is never deleted (no-claim restore continuing in a new chain)', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    const rand = rng(21);
    const model: Model = new Map();
    mutate(db, model, rand, 3000, 3000);
    await db.compactRange();
    const a = new Checkpointer(db, storage, { chain: 'a', retain: 1 });
    const base = await a.checkpoint();
    const baseModel = new Map(model);
    await restoreCheckpoint(storage, 'latest', join(root, 'restored'), { chain: 'a', mode: 'no-claim' });
    const record = JSON.parse(readFileSync(join(root, 'restored', RESTORE_RECORD_NAME), 'utf8')) as { formatVersion: number; chain: string; checkpointId: number };
    expect(record).toMatchObject({ formatVersion: 2, chain: 'a', checkpointId: base.checkpointId });
    const rdb = await openDb(join(root, 'restored'));
    const c = await Checkpointer.open(rdb, storage, { chain: 'c', retain: 1 });
    const rmodel = new Map(baseModel);
    mutate(rdb, rmodel, rand, 50, 3000);
    const c1 = await c.checkpoint();
    expect(c1.reusedFiles).toBeGreaterThan(0); // references chain a's tables
    const c1meta = await readCheckpointMetadata(storage, c1.checkpointId, { chain: 'c' });
    expect(c1meta.restoredFrom).toEqual({ checkpointId: base.checkpointId, mode: 'no-claim', chain: 'a' });
    expect(c1meta.parentId).toBe(base.checkpointId);
    // chain a moves on and subsumes the checkpoint chain c was restored from
    for (let i = 0; i < 3; i++) {
      mutate(db, model, rand, 400, 3000);
      await db.compactRange();
      await a.checkpoint();
    }
    expect(await listCheckpointIds(storage, { chain: 'a' })).toHaveLength(1);
    await expectNoLeaks(storage);
    expect(await restoredState(storage, c1.checkpointId, join(root, 'rc'), { chain: 'c' })).toEqual(rmodel);
    expect(await restoredState(storage, 'latest', join(root, 'ra'), { chain: 'a' })).toEqual(model);
  });

  it('claim: a job restarting into the same chain continues its ids and subsumes the claimed checkpoint, not a same-numbered one elsewhere', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    const other = await openDb(join(root, 'other'));
    const rand = rng(31);
    const model: Model = new Map();
    mutate(db, model, rand, 3000, 3000);
    mutate(other, new Map(), rand, 1000, 3000);
    await new Checkpointer(other, storage).checkpoint(); // checkpoints/1.meta: unnamed chain, id 1
    await new Checkpointer(other, storage, { chain: 'x' }).checkpoint(); // checkpoints/x/1.meta
    const old = new Checkpointer(db, storage, { chain: 'job', retain: Infinity });
    await old.checkpoint();
    const last = await old.checkpoint();
    await db.close();
    await restoreCheckpoint(storage, 'latest', join(root, 'restored'), { chain: 'job', mode: 'claim' });
    const rdb = await openDb(join(root, 'restored'));
    const ck = await Checkpointer.open(rdb, storage, { chain: 'job', retain: 1 });
    expect(await ck.retainedCheckpoints()).toEqual([1, 2]); // the chain, whichever database took it
    mutate(rdb, model, rand, 100, 3000);
    const r = await ck.checkpoint();
    expect(r.checkpointId).toBe(last.checkpointId + 1);
    expect((await storageState(storage)).metas).toEqual(['checkpoints/1.meta', 'checkpoints/job/3.meta', 'checkpoints/x/1.meta']);
    await expectNoLeaks(storage);
    expect(await restoredState(storage, 'latest', join(root, 'r'), { chain: 'job' })).toEqual(model);
  });

  it('a claimed checkpoint of another chain is identified by chain and id', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    const other = await openDb(join(root, 'other'));
    const rand = rng(41);
    const model: Model = new Map();
    mutate(db, model, rand, 2000, 3000);
    mutate(other, new Map(), rand, 2000, 3000);
    await new Checkpointer(other, storage).checkpoint(); // checkpoints/1.meta
    await new Checkpointer(db, storage, { chain: 'src' }).checkpoint(); // checkpoints/src/1.meta
    await restoreCheckpoint(storage, 1, join(root, 'restored'), { chain: 'src' });
    const rdb = await openDb(join(root, 'restored'));
    const ck = await Checkpointer.open(rdb, storage, { chain: 'dst', retain: 1 });
    expect(await ck.retainedCheckpoints()).toEqual([1]); // src/1
    const r = await ck.checkpoint();
    expect(r.checkpointId).toBe(1); // dst has its own ids
    expect((await storageState(storage)).metas).toEqual(['checkpoints/1.meta', 'checkpoints/dst/1.meta']);
    await expectNoLeaks(storage);
    expect(await restoredState(storage, 1, join(root, 'r'), { chain: 'dst' })).toEqual(model);
  });
});

describe('checkpoint({ checkpointId, application })', () => {
  it('an explicit id must be a safe integer greater than every id of the chain in storage', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    mutate(db, new Map(), rng(2), 1000, 1000);
    const a = new Checkpointer(db, storage, { chain: 'a', retain: Infinity });
    expect((await a.checkpoint({ checkpointId: 10 })).checkpointId).toBe(10);
    expect((await a.checkpoint({ checkpointId: 20 })).checkpointId).toBe(20);
    for (const bad of [20, 15, 0, -1, 1.5, Number.NaN, Infinity, 2 ** 53, 1e15, '30' as unknown as number]) {
      await expect(a.checkpoint({ checkpointId: bad })).rejects.toThrow(RangeError);
    }
    expect((await a.checkpoint()).checkpointId).toBe(21);
    expect((await a.checkpoint({ checkpointId: 999_999_999_999_999 })).checkpointId).toBe(999_999_999_999_999);
    await expect(a.checkpoint()).rejects.toThrow(RangeError); // no id left
    expect(await listCheckpointIds(storage, { chain: 'a' })).toEqual([10, 20, 21, 999_999_999_999_999]);

    // per chain: another chain and the unnamed chain may use lower ids
    const other = await openDb(join(root, 'other'));
    mutate(other, new Map(), rng(3), 1000, 1000);
    expect((await new Checkpointer(other, storage, { chain: 'b' }).checkpoint({ checkpointId: 5 })).checkpointId).toBe(5);
    const u = new Checkpointer(other, storage);
    expect((await u.checkpoint({ checkpointId: 3 })).checkpointId).toBe(3);
    await expect(u.checkpoint({ checkpointId: 3 })).rejects.toThrow(RangeError);
    expect((await u.checkpoint()).checkpointId).toBe(4);
    await expectNoLeaks(storage);
  });

  it('an explicit id is checked against what is in storage now, including checkpoints another Checkpointer of the chain wrote', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    mutate(db, new Map(), rng(4), 1000, 1000);
    const first = new Checkpointer(db, storage, { chain: 'a' });
    await first.checkpoint({ checkpointId: 7 });
    const second = new Checkpointer(db, storage, { chain: 'a' }); // e.g. after a restart
    await expect(second.checkpoint({ checkpointId: 7 })).rejects.toThrow(RangeError);
    expect((await second.checkpoint({ checkpointId: 8 })).checkpointId).toBe(8);
  });

  it('application data is stored verbatim; anything that is not plain JSON data is a TypeError and writes nothing', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    mutate(db, new Map(), rng(5), 1000, 1000);
    const ck = new Checkpointer(db, storage, { chain: 'keyed' });
    const application = {
      keyGroups: { start: 0, end: 31, maxParallelism: 128 },
      states: [{ name: 'counts', kind: 'value', serializer: 'utf8', ttlMs: null }, { name: 'ünïcode ✓', kind: 'map', nested: [[1, 2.5, -0.125], true, false, null, ''] }],
    };
    const r = await ck.checkpoint({ application });
    const stored = await readCheckpointMetadata(storage, r.checkpointId, { chain: 'keyed' });
    expect(stored.application).toEqual(application);
    application.keyGroups.end = 63; // a later change by the caller does not alter what was stored
    const again = await readCheckpointMetadata(storage, r.checkpointId, { chain: 'keyed' });
    expect((again.application as { keyGroups: { end: number } }).keyGroups.end).toBe(31);
    for (const v of ['text', 0, false, null, [1, 'two']]) {
      const x = await ck.checkpoint({ application: v });
      expect((await readCheckpointMetadata(storage, x.checkpointId, { chain: 'keyed' })).application).toEqual(v);
    }
    const noApp = await ck.checkpoint();
    expect('application' in (await readCheckpointMetadata(storage, noApp.checkpointId, { chain: 'keyed' }))).toBe(false);

    const before = await storageState(storage);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [() => 1, 10n, new Date(0), Number.NaN, Infinity, { a: undefined }, [undefined], cyclic, new Map(), Symbol('s'), { nested: { f: () => 1 } }]) {
      await expect(ck.checkpoint({ application: bad })).rejects.toThrow(TypeError);
    }
    expect(await storageState(storage)).toEqual(before);
    expect((await ck.checkpoint()).checkpointId).toBe(noApp.checkpointId + 1);
  });
});

describe('retain: Infinity and discard(id)', () => {
  it('keeps every checkpoint until discarded; discard deletes the metadata, then only tables nothing else references', async () => {
    const { root, storage } = setup();
    const db = await Database.open(join(root, 'db'), { ...small, disableAutoCompactions: true }); // tables change only where the test says
    cleanups.push(async () => {
      if (!db.isClosed) await db.close();
    });
    const rand = rng(51);
    const model: Model = new Map();
    const taken = new Map<number, Model>();
    const ck = new Checkpointer(db, storage, { chain: 'a', retain: Infinity });
    for (let i = 0; i < 6; i++) {
      mutate(db, model, rand, i === 0 ? 3000 : 300, 3000);
      if (i === 1 || i === 3) await db.compactRange(); // checkpoint 1 has tables no later one references
      taken.set((await ck.checkpoint()).checkpointId, new Map(model));
    }
    expect(await ck.retainedCheckpoints()).toEqual([1, 2, 3, 4, 5, 6]);
    // another chain with the same ids: never touched by discard
    const other = await openDb(join(root, 'other'));
    mutate(other, new Map(), rand, 1000, 1000);
    const b = new Checkpointer(other, storage, { chain: 'b', retain: Infinity });
    for (let i = 0; i < 3; i++) await b.checkpoint();

    const referencedBy = async (id: number, chain: string): Promise<string[]> =>
      (await readCheckpointMetadata(storage, id, { chain })).files.map((f) => f.storageName);
    const in2 = await referencedBy(2, 'a');
    const only1 = (await referencedBy(1, 'a')).filter((n) => !in2.includes(n));
    const objectsBefore = (await storageState(storage)).objects;
    expect(only1.every((n) => objectsBefore.includes(n))).toBe(true);
    await ck.discard(1);
    await ck.discard(3);
    await ck.discard(3); // gone already: no-op
    await ck.discard(99); // never existed: no-op
    expect(await listCheckpointIds(storage, { chain: 'a' })).toEqual([2, 4, 5, 6]);
    expect(await listCheckpointIds(storage, { chain: 'b' })).toEqual([1, 2, 3]);
    expect(await ck.retainedCheckpoints()).toEqual([2, 4, 5, 6]);
    await expectNoLeaks(storage);
    expect(only1.length).toBeGreaterThan(0);
    const objectsAfter = (await storageState(storage)).objects;
    expect(only1.some((n) => objectsAfter.includes(n))).toBe(false);
    for (const n of in2) expect(objectsAfter).toContain(n);
    await expect(ck.discard(-1)).rejects.toThrow(RangeError);
    await expect(ck.discard(1.5)).rejects.toThrow(RangeError);

    // discard is queued behind a checkpoint requested before it, and a checkpoint behind a discard
    mutate(db, model, rand, 300, 3000);
    const pending = ck.checkpoint();
    const discarded = ck.discard(7);
    const after = ck.checkpoint();
    expect((await pending).checkpointId).toBe(7);
    await discarded;
    expect((await after).checkpointId).toBe(8); // ids keep increasing past a discarded one
    taken.set(8, new Map(model));
    expect(await listCheckpointIds(storage, { chain: 'a' })).toEqual([2, 4, 5, 6, 8]);
    await expectNoLeaks(storage);
    for (const id of [2, 6, 8]) expect(await restoredState(storage, id, join(root, `r${id}`), { chain: 'a' })).toEqual(taken.get(id));
    for (const id of [2, 4, 5, 6, 8]) await ck.discard(id);
    await expectNoLeaks(storage);
    expect((await storageState(storage)).objects.every((n) => !n.includes(db.id))).toBe(true);
  });

  it('retain must be an integer >= 1 or Infinity', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    for (const bad of [0, -1, 1.5, Number.NaN, -Infinity]) expect(() => new Checkpointer(db, storage, { retain: bad })).toThrow(RangeError);
    expect(() => new Checkpointer(db, storage, { retain: Infinity })).not.toThrow();
  });

  it('discard never deletes tables of a checkpoint restored with no-claim, nor that checkpoint', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    const rand = rng(61);
    const model: Model = new Map();
    mutate(db, model, rand, 3000, 3000);
    await db.compactRange();
    await new Checkpointer(db, storage, { chain: 'job' }).checkpoint();
    await db.close();
    await restoreCheckpoint(storage, 1, join(root, 'restored'), { chain: 'job', mode: 'no-claim' });
    const rdb = await openDb(join(root, 'restored'));
    const ck = await Checkpointer.open(rdb, storage, { chain: 'job', retain: Infinity });
    expect(await ck.retainedCheckpoints()).toEqual([]); // the no-claim checkpoint is not this chain's to delete
    const r = await ck.checkpoint();
    expect(r.checkpointId).toBe(2);
    expect(r.reusedFiles).toBeGreaterThan(0);
    await ck.discard(1); // not ours: no-op
    await ck.discard(2);
    expect(await listCheckpointIds(storage, { chain: 'job' })).toEqual([1]);
    await expectNoLeaks(storage);
    expect(await restoredState(storage, 1, join(root, 'again'), { chain: 'job' })).toEqual(model);
  });

  it('discard removes unreadable metadata of its chain; until then no table is deleted', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    const rand = rng(71);
    mutate(db, new Map(), rand, 2000, 2000);
    const ck = new Checkpointer(db, storage, { chain: 'a', retain: 1 });
    await ck.checkpoint();
    writeFileSync(join(root, 'store', 'checkpoints', 'a', '5.meta'), 'garbage');
    mutate(db, new Map(), rand, 2000, 4000);
    await db.compactRange();
    await ck.checkpoint({ checkpointId: 6 });
    const st = await storageState(wrap(storage, { list: async (p) => (await storage.list(p)).filter((o) => o.name !== 'checkpoints/a/5.meta') }));
    expect(st.objects.length).toBeGreaterThan(st.referenced.length); // subsumed checkpoint 1's tables kept while 5 is unreadable
    await ck.discard(5);
    expect(await listCheckpointIds(storage, { chain: 'a' })).toEqual([6]);
    mutate(db, new Map(), rand, 200, 4000);
    expect((await ck.checkpoint()).checkpointId).toBe(7);
    await expectNoLeaks(storage); // the tables held back meanwhile are deleted with the next subsumed checkpoint's
  });
});

describe('restoreCheckpoint with include', () => {
  it('restores only the included tables: skipped ones are not downloaded, not in the version, not in the record', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    const rand = rng(81);
    const model: Model = new Map();
    mutate(db, model, rand, 6000, 4000);
    await db.compactRange(); // one sorted run: every key in exactly one table
    await new Checkpointer(db, storage, { chain: 'kg' }).checkpoint();
    const meta = await readCheckpointMetadata(storage, 'latest', { chain: 'kg' });
    expect(meta.files.length).toBeGreaterThan(3);
    const userKey = (hex: string): string => text(fromHex(hex).subarray(0, fromHex(hex).length - 8))!;
    const split = key(2000);
    const include = (f: CheckpointFile): boolean => userKey(f.largest) < split;
    const kept = meta.files.filter(include);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(meta.files.length);

    const downloaded: string[] = [];
    const counting = wrap(storage, { downloadFile: async (n, p) => { downloaded.push(n); await storage.downloadFile(n, p); } });
    const seen: CheckpointFile[] = [];
    const target = join(root, 'part');
    const result = await restoreCheckpoint(counting, 'latest', target, { chain: 'kg', mode: 'no-claim', include: (f) => { seen.push(f); return include(f); } });
    expect(seen.map((f) => f.localName).sort()).toEqual(meta.files.map((f) => f.localName).sort());
    expect(downloaded.sort()).toEqual(kept.map((f) => f.storageName).sort());
    expect(result.files).toBe(kept.length);
    const record = JSON.parse(readFileSync(join(target, RESTORE_RECORD_NAME), 'utf8')) as { files: CheckpointFile[] };
    expect(record.files.map((f) => f.localName).sort()).toEqual(kept.map((f) => f.localName).sort());
    expect(readdirSync(target).filter((n) => n.endsWith('.sst')).sort()).toEqual(kept.map((f) => f.localName).sort());

    const last = userKey(kept.reduce((a, f) => (userKey(f.largest) > userKey(a.largest) ? f : a)).largest);
    const expected = new Map([...model].filter(([k]) => k <= last));
    const rdb = await Database.open(target, { ...small, disableAutoCompactions: true });
    cleanups.push(async () => {
      if (!rdb.isClosed) await rdb.close();
    });
    expect(dump(rdb)).toEqual(expected);
    expect(rdb.stats().levels.reduce((n, l) => n + l.files, 0)).toBe(kept.length);
    // the partial database checkpoints normally, reusing what it restored
    const r = await new Checkpointer(rdb, storage, { chain: 'kg-0' }).checkpoint();
    expect(r.reusedFiles).toBe(kept.length);
    await expectNoLeaks(storage);
  });

  it('include: everything skipped gives an empty database; a throwing include fails before anything is written', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    mutate(db, new Map(), rng(82), 2000, 2000);
    await new Checkpointer(db, storage).checkpoint();
    expect(await restoredState(storage, 'latest', join(root, 'none'), { include: () => false })).toEqual(new Map());
    await expect(restoreCheckpoint(storage, 'latest', join(root, 'boom'), { include: () => { throw new Error('boom'); } })).rejects.toThrow('boom');
    await expect(restoreCheckpoint(storage, 'latest', join(root, 'bad'), { include: 'yes' as unknown as () => boolean })).rejects.toThrow(TypeError);
    expect(readdirSync(root).sort()).toEqual(['db', 'none', 'store']);
  });
});

describe('metadata fields chain and application', () => {
  it('round-trip; a chain that does not match the object name, or an invalid one, is a CorruptionError', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    mutate(db, new Map(), rng(91), 500, 500);
    await new Checkpointer(db, storage, { chain: 'a' }).checkpoint({ application: { range: [0, 7] } });
    const name = metadataName(1, 'a');
    expect(name).toBe('checkpoints/a/1.meta');
    const meta = decodeMetadata(await storage.getBytes(name), name);
    expect(meta).toMatchObject({ chain: 'a', application: { range: [0, 7] }, formatVersion: 1 });
    expect(decodeMetadata(encodeMetadata(meta), name)).toEqual(meta);
    // the same body under another chain's or the unnamed chain's name
    expect(() => decodeMetadata(encodeMetadata(meta), 'checkpoints/b/1.meta')).toThrow(CorruptionError);
    expect(() => decodeMetadata(encodeMetadata(meta), 'checkpoints/1.meta')).toThrow(CorruptionError);
    expect(() => decodeMetadata(encodeMetadata({ ...meta, chain: undefined }), name)).toThrow(CorruptionError);
    for (const bad of ['a/b', '..', 7, '']) {
      expect(() => decodeMetadata(encodeMetadata({ ...meta, chain: bad as string }), name)).toThrow(CorruptionError);
    }
    // a version 1 body from before chains (no chain, no application) still reads
    const legacy = { ...meta, checkpointId: 4 } as Partial<typeof meta>;
    delete legacy.chain;
    delete legacy.application;
    const decoded = decodeMetadata(encodeMetadata(legacy as typeof meta), 'checkpoints/4.meta');
    expect('chain' in decoded || 'application' in decoded).toBe(false);
  });
});
