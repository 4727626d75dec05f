import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CheckpointStorage as Storage, CheckpointStorage, Checkpointer, CorruptionError, Database, LsmError, restoreCheckpoint,
} from '../../../src/index.js';
import type { DatabaseOptions } from '../../../src/db/options.js';
import { encodeMetadata, decodeMetadata, metadataName } from '../../../src/checkpoint/metadata.js';
import { bytes, tempDir, text } from '../../helpers/temp-dir.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const small: DatabaseOptions = { writeBufferSize: 16 * 1024, targetFileSizeBase: 16 * 1024, level0FileNumCompactionTrigger: 4 };
const key = (i: number): Uint8Array => bytes(`user:${String(i).padStart(6, '0')}`);

function setup(): { root: string; storage: Storage } {
  const d = tempDir('lsm-ckpt-');
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

/** Small deterministic PRNG (mulberry32). */
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
    const i = Math.floor(rand() * keySpace);
    const k = text(key(i))!;
    if (rand() < 0.15) {
      db.delete(key(i));
      model.delete(k);
    } else {
      const v = `events=${Math.floor(rand() * 1e6)};sum=${n};pad=${'x'.repeat(Math.floor(rand() * 60))}`;
      db.put(key(i), bytes(v));
      model.set(k, v);
    }
  }
}

function dump(db: Database): Model {
  const m: Model = new Map();
  for (const [k, v] of db.iterator()) m.set(text(k)!, text(v)!);
  return m;
}

async function expectRestoresTo(storage: Storage, id: number | 'latest', dir: string, model: Model, mode: 'claim' | 'no-claim' = 'claim'): Promise<void> {
  await restoreCheckpoint(storage, id, dir, { mode });
  const db = await Database.open(dir, small);
  try {
    expect(dump(db)).toEqual(model);
  } finally {
    await db.close();
  }
}

/** Every table object in storage, and every one the present metadata references. */
async function storageState(storage: Storage): Promise<{ objects: string[]; referenced: string[]; ids: number[] }> {
  const objects = [...(await storage.list('shared/')), ...(await storage.list('full/'))].map((o) => o.name).sort();
  const referenced = new Set<string>();
  const ids: number[] = [];
  for (const o of await storage.list('checkpoints/')) {
    const m = decodeMetadata(await storage.getBytes(o.name), o.name);
    ids.push(m.checkpointId);
    for (const f of m.files) referenced.add(f.storageName);
  }
  return { objects, referenced: [...referenced].sort(), ids: ids.sort((a, b) => a - b) };
}

describe('Checkpointer', () => {
  it('incremental uploads only new tables; full uploads everything', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    const rand = rng(1);
    const model: Model = new Map();
    mutate(db, model, rand, 4000, 3000);
    await db.compactRange(); // settle: no background compaction rewrites the tables between checkpoints
    const inc = await Checkpointer.open(db, storage);
    const r1 = await inc.checkpoint();
    expect(r1.uploadedBytes).toBe(r1.referencedBytes);
    expect(r1.reusedFiles).toBe(0);
    expect(r1.writerBlockedMs).toBeGreaterThanOrEqual(0);
    mutate(db, model, rand, 200, 3000);
    const r2 = await inc.checkpoint();
    expect(r2.checkpointId).toBe(r1.checkpointId + 1);
    expect(r2.reusedFiles).toBeGreaterThan(0);
    expect(r2.uploadedBytes).toBeLessThan(r2.referencedBytes);
    expect(r2.newFiles + r2.reusedFiles).toBe(db.stats().levels.reduce((n, l) => n + l.files, 0));

    const fullStore = CheckpointStorage.directory(join(root, 'full-store'));
    const full = new Checkpointer(db, fullStore, { mode: 'full', retain: 2 });
    for (let i = 0; i < 3; i++) {
      mutate(db, model, rand, 100, 3000);
      const r = await full.checkpoint();
      expect(r.uploadedBytes).toBe(r.referencedBytes);
      expect(r.reusedFiles).toBe(0);
    }
    const st = await storageState(fullStore);
    expect(st.ids.length).toBe(2);
    expect(st.objects).toEqual(st.referenced);
    expect(st.objects.every((n) => n.startsWith('full/'))).toBe(true);
    await expectRestoresTo(fullStore, 'latest', join(root, 'restore-full'), model);
  });

  it('retention keeps exactly the retained checkpoints files, and each restores to its model state', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    const rand = rng(7);
    const model: Model = new Map();
    const snapshots = new Map<number, Model>();
    const ck = new Checkpointer(db, storage, { retain: 3, concurrency: 3 });
    for (let round = 0; round < 7; round++) {
      mutate(db, model, rand, round === 0 ? 3000 : 400, 2500);
      if (round === 4) await db.compactRange();
      const r = await ck.checkpoint();
      snapshots.set(r.checkpointId, new Map(model));
      const st = await storageState(storage);
      expect(st.objects).toEqual(st.referenced); // nothing leaked, nothing missing
      expect(st.ids.length).toBe(Math.min(round + 1, 3));
    }
    const { ids } = await storageState(storage);
    expect(ids).toEqual(await ck.retainedCheckpoints());
    for (const id of ids) await expectRestoresTo(storage, id, join(root, `restore-${id}`), snapshots.get(id)!);
    expect(snapshots.size).toBe(7);
  });

  it('a failed upload leaves no orphan, and the next checkpoint works', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    const rand = rng(3);
    const model: Model = new Map();
    mutate(db, model, rand, 3000, 3000);
    await new Checkpointer(db, storage).checkpoint();
    const before = await storageState(storage);

    let puts = 0;
    let failAt = 2;
    const flaky: Storage = {
      description: 'flaky',
      putFile: async (name, path) => {
        if (++puts === failAt) throw new LsmError('LSM_IO', 'injected upload failure');
        await storage.putFile(name, path);
      },
      putBytes: (n, d) => storage.putBytes(n, d),
      getBytes: (n) => storage.getBytes(n),
      downloadFile: (n, p) => storage.downloadFile(n, p),
      list: (p) => storage.list(p),
      delete: (n) => storage.delete(n),
      close: () => storage.close(),
    };
    const ck = new Checkpointer(db, flaky, { concurrency: 2 });
    mutate(db, model, rand, 3000, 6000); // several new tables
    await db.flush();
    await expect(ck.checkpoint()).rejects.toSatisfy((e) => LsmError.is(e, 'LSM_IO'));
    const after = await storageState(storage);
    expect(after).toEqual(before); // nothing added, nothing of the retained checkpoint deleted

    failAt = -1;
    flaky.putBytes = async () => {
      throw new LsmError('LSM_IO', 'injected metadata failure');
    };
    await expect(ck.checkpoint()).rejects.toSatisfy((e) => LsmError.is(e, 'LSM_IO'));
    expect(await storageState(storage)).toEqual(before);
    flaky.putBytes = (n, d) => storage.putBytes(n, d);
    const r = await ck.checkpoint();
    const st = await storageState(storage);
    expect(st.objects).toEqual(st.referenced);
    await expectRestoresTo(storage, r.checkpointId, join(root, 'restore'), model);
  });

  it('a Checkpointer restarted on existing storage rebuilds its registry and removes crash leftovers', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    const rand = rng(5);
    const model: Model = new Map();
    mutate(db, model, rand, 3000, 3000);
    await db.compactRange(); // settle: no background compaction rewrites the tables between checkpoints
    const first = await new Checkpointer(db, storage).checkpoint();
    // a crash between uploads and metadata: tables uploaded under this db's names, no metadata
    writeFileSync(join(root, 'junk'), 'partial');
    await storage.putFile(`shared/${db.id}-999998.sst`, join(root, 'junk'));
    await storage.putFile(`full/${first.checkpointId + 1}/${db.id}-999999.sst`, join(root, 'junk'));
    await storage.putFile('shared/otherdb-5.sst', join(root, 'junk')); // another database's: left alone

    const ck = await Checkpointer.open(db, storage);
    const names = (await storage.list('')).map((o) => o.name);
    expect(names).not.toContain(`shared/${db.id}-999998.sst`);
    expect(names.some((n) => n.startsWith('full/'))).toBe(false);
    expect(names).toContain('shared/otherdb-5.sst');
    mutate(db, model, rand, 100, 3000);
    const r = await ck.checkpoint();
    expect(r.checkpointId).toBe(first.checkpointId + 1);
    expect(r.reusedFiles).toBeGreaterThan(0); // registry rebuilt from the stored metadata
    expect(r.uploadedBytes).toBeLessThan(r.referencedBytes);
  });
});

describe('restoreCheckpoint', () => {
  async function oneCheckpoint(): Promise<{ root: string; storage: Storage; id: number; model: Model }> {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    const model: Model = new Map();
    mutate(db, model, rng(11), 2000, 2000);
    const r = await new Checkpointer(db, storage).checkpoint();
    await db.close();
    return { root, storage, id: r.checkpointId, model };
  }

  it('refuses a non-empty target, reports a missing checkpoint', async () => {
    const { root, storage, id } = await oneCheckpoint();
    writeFileSync(join(root, 'db', 'extra'), 'x');
    await expect(restoreCheckpoint(storage, id, join(root, 'db'))).rejects.toSatisfy((e) => LsmError.is(e, 'LSM_EXISTS'));
    await expect(restoreCheckpoint(storage, id + 10, join(root, 'r'))).rejects.toSatisfy((e) => LsmError.is(e, 'LSM_NOT_FOUND'));
  });

  it('corrupt metadata is a CorruptionError', async () => {
    const { root, storage, id } = await oneCheckpoint();
    const path = join(root, 'store', 'checkpoints', `${id}.meta`);
    const data = readFileSync(path);
    data[data.length - 5]! ^= 0x01;
    writeFileSync(path, data);
    await expect(restoreCheckpoint(storage, id, join(root, 'r'))).rejects.toSatisfy((e) => CorruptionError.is(e));
    writeFileSync(path, data.subarray(0, data.length - 10));
    await expect(restoreCheckpoint(storage, id, join(root, 'r'))).rejects.toSatisfy((e) => CorruptionError.is(e));
  });

  it('a corrupt table object is a CorruptionError naming it, and the target is left empty', async () => {
    const { root, storage, id } = await oneCheckpoint();
    const meta = decodeMetadata(await storage.getBytes(metadataName(id)), metadataName(id));
    const victim = meta.files[0]!.storageName;
    const path = join(root, 'store', ...victim.split('/'));
    const data = readFileSync(path);
    data[Math.floor(data.length / 2)]! ^= 0x40;
    writeFileSync(path, data);
    const err = await restoreCheckpoint(storage, id, join(root, 'r')).catch((e: unknown) => e);
    expect(CorruptionError.is(err)).toBe(true);
    expect((err as CorruptionError).file).toBe(victim);
    expect(readdirSync(root)).not.toContain('r');
  });

  it('rejects metadata whose file names would escape the target directory', async () => {
    const { root, storage, id } = await oneCheckpoint();
    const meta = decodeMetadata(await storage.getBytes(metadataName(id)), metadataName(id));
    for (const evil of ['../evil.sst', '/tmp/evil.sst', '000001.sst/../../x', 'CURRENT']) {
      meta.files[0]!.localName = evil;
      await storage.putBytes(metadataName(id), encodeMetadata(meta)); // correctly checksummed
      await expect(restoreCheckpoint(storage, id, join(root, 'r', 'deep'))).rejects.toSatisfy((e) => CorruptionError.is(e));
    }
    expect(readdirSync(root).sort()).toEqual(['db', 'store']);
  });

  it('a restored database checkpointing into the same storage (no-claim) reuses the restored files and deletes nothing others need', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    const rand = rng(21);
    const model: Model = new Map();
    const snapshots = new Map<number, Model>();
    const orig = new Checkpointer(db, storage, { retain: 2 });
    for (let i = 0; i < 2; i++) {
      mutate(db, model, rand, i === 0 ? 3000 : 300, 3000);
      await db.compactRange(); // settled tables: the restored database's first checkpoint can reuse them
      snapshots.set((await orig.checkpoint()).checkpointId, new Map(model));
    }
    const base = [...snapshots.keys()].at(-1)!;
    await restoreCheckpoint(storage, base, join(root, 'restored'), { mode: 'no-claim' });
    const rdb = await openDb(join(root, 'restored'));
    expect(rdb.id).not.toBe(db.id);
    const rmodel = new Map(snapshots.get(base)!);
    const rck = await Checkpointer.open(rdb, storage, { retain: 1 });
    mutate(rdb, rmodel, rng(99), 50, 3000);
    const r1 = await rck.checkpoint();
    expect(r1.reusedFiles).toBeGreaterThan(0); // references the restored files, no re-upload
    expect(r1.uploadedBytes).toBeLessThan(r1.referencedBytes);
    for (let i = 0; i < 4; i++) {
      mutate(rdb, rmodel, rand, 400, 3000);
      await rdb.compactRange(); // rewrites everything: the restored files leave its version
      await rck.checkpoint();
    }
    const rlast = (await rck.retainedCheckpoints()).at(-1)!;
    // the original chain's retained checkpoints are intact and restorable
    const st = await storageState(storage);
    for (const id of snapshots.keys()) expect(st.ids).toContain(id);
    for (const name of st.referenced) expect(st.objects).toContain(name);
    for (const id of snapshots.keys()) await expectRestoresTo(storage, id, join(root, `o-${id}`), snapshots.get(id)!);
    await expectRestoresTo(storage, rlast, join(root, 'r-last'), rmodel);

    // the original keeps going and subsumes its checkpoints; the restored chain stays restorable
    for (let i = 0; i < 3; i++) {
      mutate(db, model, rand, 300, 3000);
      await orig.checkpoint();
    }
    const st2 = await storageState(storage);
    expect(st2.objects).toEqual(st2.referenced);
    await expectRestoresTo(storage, rlast, join(root, 'r-last-2'), rmodel);
  });

  it('claim: the restored checkpoint joins the new chain and is subsumed, never what another chain retains', async () => {
    const { root, storage } = setup();
    const db = await openDb(join(root, 'db'));
    const rand = rng(31);
    const model: Model = new Map();
    mutate(db, model, rand, 3000, 3000);
    await db.compactRange();
    const c1 = await new Checkpointer(db, storage, { retain: 5 }).checkpoint();
    const snap1 = new Map(model);
    await db.close();
    await restoreCheckpoint(storage, c1.checkpointId, join(root, 'restored'), { mode: 'claim' });
    const rdb = await openDb(join(root, 'restored'));
    const rck = await Checkpointer.open(rdb, storage, { retain: 1 });
    const rmodel = new Map(snap1);
    mutate(rdb, rmodel, rand, 100, 3000);
    const r1 = await rck.checkpoint();
    expect(r1.reusedFiles).toBeGreaterThan(0);
    const st = await storageState(storage);
    expect(st.ids).toEqual([r1.checkpointId]); // the claimed checkpoint was subsumed
    expect(st.objects).toEqual(st.referenced); // its files no longer referenced are gone, shared ones kept
    await expectRestoresTo(storage, r1.checkpointId, join(root, 'r1'), rmodel);
  });
});
