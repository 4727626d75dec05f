/**
 * Model-based checkpoints: random workloads (puts, deletes, range deletes, flushes, compactions)
 * with checkpoints interleaved, in both modes, against directory storage and an S3 server on
 * loopback. After every checkpoint the storage holds exactly the table objects the retained
 * checkpoints reference (nothing leaked, nothing missing); at the end every retained checkpoint
 * restores to exactly the model's state when it was taken. Seeds print on failure (FC_SEED).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  Checkpointer, CheckpointStorage, Database, LsmError, listCheckpointIds, readCheckpointMetadata, restoreCheckpoint,
  type CheckpointStorage as Storage,
} from '../../src/index.js';
import { fcParams, seededRandom } from '../helpers/fc-params.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { tempDir } from '../helpers/temp-dir.js';

type Cmd =
  | { op: 'put'; k: number; v: number }
  | { op: 'del'; k: number }
  | { op: 'range'; a: number; b: number }
  | { op: 'flush' }
  | { op: 'compact' }
  | { op: 'checkpoint' };

const KEYS = 400;
const keyOf = (k: number): string => `user:${String(k).padStart(4, '0')}`;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 40, arbitrary: fc.record({ op: fc.constant('put' as const), k: fc.nat(KEYS - 1), v: fc.nat(1_000_000) }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('del' as const), k: fc.nat(KEYS - 1) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('range' as const), a: fc.nat(KEYS), b: fc.nat(KEYS) }) },
  { weight: 3, arbitrary: fc.constant({ op: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'compact' as const }) },
  { weight: 4, arbitrary: fc.constant({ op: 'checkpoint' as const }) },
);

/** Table objects in storage must be exactly those the remaining metadata references. */
async function checkNoLeaks(storage: Storage): Promise<void> {
  const referenced = new Set<string>();
  for (const id of await listCheckpointIds(storage)) {
    for (const f of (await readCheckpointMetadata(storage, id)).files) referenced.add(f.storageName);
  }
  const present = new Set([...(await storage.list('shared/')), ...(await storage.list('full/'))].map((o) => o.name));
  expect([...present].sort()).toEqual([...referenced].sort());
}

let injectedFailures = 0;

/**
 * Wraps a storage so writes and deletes fail at random (about `failPct` percent) and some calls
 * stall for a few milliseconds, deterministically from `seed`.
 */
function faulty(inner: Storage, seed: number, failPct: number): Storage {
  const rand = seededRandom(seed);
  const maybeFail = async (what: string): Promise<void> => {
    if (rand.nextInt(10) === 0) await new Promise((r) => setTimeout(r, rand.nextInt(5)));
    if (rand.nextInt(100) < failPct) {
      injectedFailures++;
      throw new LsmError('LSM_IO', `injected ${what} failure`);
    }
  };
  return {
    description: `faulty(${inner.description})`,
    putFile: async (n, p) => { await maybeFail('upload'); await inner.putFile(n, p); },
    putBytes: async (n, d) => { await maybeFail('metadata'); await inner.putBytes(n, d); },
    getBytes: (n) => inner.getBytes(n),
    downloadFile: (n, p) => inner.downloadFile(n, p),
    list: (p) => inner.list(p),
    delete: async (n) => { await maybeFail('delete'); await inner.delete(n); },
    close: () => inner.close(),
  };
}

async function run(makeStorage: () => Storage, mode: 'incremental' | 'full', cmds: Cmd[], faultSeed?: number): Promise<void> {
  const d = tempDir();
  const storage = makeStorage();
  const writeTo = faultSeed === undefined ? storage : faulty(storage, faultSeed, 15);
  const db = await Database.open(join(d.path, 'db'), { writeBufferSize: 8192, targetFileSizeBase: 4096, compression: 'none' });
  const ck = new Checkpointer(db, writeTo, { mode, retain: 2 });
  const model = new Map<string, string>();
  const taken = new Map<number, Map<string, string>>();
  try {
    for (const c of [...cmds, { op: 'checkpoint' as const }]) {
      if (c.op === 'put') {
        db.put(enc(keyOf(c.k)), enc(String(c.v)));
        model.set(keyOf(c.k), String(c.v));
      } else if (c.op === 'del') {
        db.delete(enc(keyOf(c.k)));
        model.delete(keyOf(c.k));
      } else if (c.op === 'range') {
        const [a, b] = [keyOf(Math.min(c.a, c.b)), keyOf(Math.max(c.a, c.b))];
        db.deleteRange(enc(a), enc(b));
        for (const k of [...model.keys()]) if (k >= a && k < b) model.delete(k);
      } else if (c.op === 'flush') {
        await db.flush();
      } else if (c.op === 'compact') {
        await db.compactRange();
      } else if (faultSeed === undefined) {
        const r = await ck.checkpoint();
        taken.set(r.checkpointId, new Map(model));
        await checkNoLeaks(storage);
      } else {
        const r = await ck.checkpoint().catch((err: unknown) => {
          if (!LsmError.is(err, 'LSM_IO')) throw err;
          return undefined;
        });
        if (r !== undefined) taken.set(r.checkpointId, new Map(model));
        // No partial checkpoint is ever visible: every listed id completed.
        for (const id of await listCheckpointIds(storage)) expect(taken.has(id)).toBe(true);
      }
    }
    if (faultSeed !== undefined) {
      // A Checkpointer started without faults removes what failed attempts left behind.
      const clean = await Checkpointer.open(db, storage, { mode, retain: 2 });
      await checkNoLeaks(storage);
      // Failed deletes may have left more than `retain` checkpoints (several subsumptions in a
      // row can fail); the next checkpoint without faults subsumes every one beyond it.
      const r = await clean.checkpoint();
      taken.set(r.checkpointId, new Map(model));
      await checkNoLeaks(storage);
    }
    await db.close();
    const retained = await listCheckpointIds(storage);
    expect(retained.length).toBeLessThanOrEqual(2);
    for (const id of retained) {
      const target = join(d.path, `restore-${id}`);
      await restoreCheckpoint(storage, id, target);
      const restored = await Database.open(target);
      const got = new Map([...restored.iterator()].map(([k, v]) => [dec(k), dec(v)]));
      await restored.close();
      expect(got).toEqual(taken.get(id));
    }
  } finally {
    await db.close().catch(() => undefined);
    await storage.close();
    d.cleanup();
  }
}

let s3: TestS3Server;
let prefix = 0;
beforeAll(async () => {
  s3 = await startS3Server('ckpt-model');
});
const storageDirs: (() => void)[] = [];
afterAll(async () => {
  await s3?.stop();
  for (const cleanup of storageDirs) cleanup();
});

const storages: [string, () => Storage][] = [
  ['directory', () => {
    const dir = tempDir();
    storageDirs.push(dir.cleanup);
    return CheckpointStorage.directory(dir.path);
  }],
  ['s3', () => CheckpointStorage.s3({
    bucket: s3.bucket, prefix: `run-${++prefix}/`, endpoint: s3.endpoint, region: s3.region,
    credentials: s3.credentials, forcePathStyle: true, maxAttempts: 2,
  })],
];

describe('checkpoints agree with the model', () => {
  for (const [name, make] of storages) {
    for (const mode of ['incremental', 'full'] as const) {
      it(`${name} storage, ${mode}: retained checkpoints restore exactly, storage holds exactly what they reference`, async () => {
        await fc.assert(fc.asyncProperty(fc.array(cmd, { minLength: 30, maxLength: 150 }), (cmds) => run(make, mode, cmds)), fcParams(4, 100));
      });
    }
  }
});

describe('checkpoints under storage faults (uploads, metadata writes and deletes failing or stalling at random)', () => {
  for (const [name, make] of storages) {
    it(`${name} storage: no partial checkpoint is visible, retained checkpoints restore exactly, nothing leaks after restart`, async () => {
      injectedFailures = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(cmd, { minLength: 30, maxLength: 150 }), fc.integer({ min: 1, max: 1 << 30 }), (cmds, seed) => run(make, 'incremental', cmds, seed)),
        fcParams(4, 100),
      );
      expect(injectedFailures).toBeGreaterThan(0);
    });
  }
});
