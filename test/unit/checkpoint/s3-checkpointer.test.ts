/**
 * End to end over S3: incremental checkpoints of a live database to an S3-compatible server on
 * loopback (s3rver, started by the test), then restores of the latest and an older retained
 * checkpoint, each equal to the database as it was when checkpointed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Checkpointer, CheckpointStorage, Database, listCheckpointIds, readCheckpointMetadata, restoreCheckpoint } from '../../../src/index.js';
import { startS3Server, type TestS3Server } from '../../helpers/s3-server.js';
import { bytes, tempDir, text } from '../../helpers/temp-dir.js';

let server: TestS3Server;
beforeAll(async () => {
  server = await startS3Server('ckpt-e2e');
});
afterAll(async () => {
  await server?.stop();
});

describe('Checkpointer over S3', () => {
  it('uploads only new files, and restores any retained checkpoint exactly', async () => {
    const d = tempDir();
    const storage = CheckpointStorage.s3({
      bucket: server.bucket, prefix: 'job-1/', endpoint: server.endpoint, region: server.region,
      credentials: server.credentials, forcePathStyle: true, maxAttempts: 3,
    });
    try {
      // No background compaction: one that happens to rewrite every table between two checkpoints
      // (timing-dependent) would leave nothing to reuse.
      const db = await Database.open(join(d.path, 'db'), { writeBufferSize: 32 * 1024, compression: 'lz4', disableAutoCompactions: true });
      const ck = new Checkpointer(db, storage, { mode: 'incremental', retain: 3 });
      const snapshots: { id: number; model: Map<string, string> }[] = [];
      const model = new Map<string, string>();
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 1500; i++) {
          const k = `user:${(i * 7 + round * 101) % 3000}:clicks`;
          const v = `${round}-${i}`;
          db.put(bytes(k), bytes(v));
          model.set(k, v);
        }
        const r = await ck.checkpoint();
        if (round > 0) expect(r.uploadedBytes).toBeLessThan(r.referencedBytes);
        snapshots.push({ id: r.checkpointId, model: new Map(model) });
      }
      await db.close();
      for (const { id, model: expected } of [snapshots[2]!, snapshots[0]!]) {
        const target = join(d.path, `restored-${id}`);
        await restoreCheckpoint(storage, id, target);
        const restored = await Database.open(target);
        const got = new Map([...restored.iterator()].map(([k, v]) => [text(k)!, text(v)!]));
        expect(got).toEqual(expected);
        await restored.close();
      }
    } finally {
      await storage.close();
      d.cleanup();
    }
  });

  it('two databases with their own chains checkpoint concurrently into one bucket prefix; discard and restore per chain', async () => {
    const d = tempDir();
    const storage = CheckpointStorage.s3({
      bucket: server.bucket, prefix: 'job-chains/', endpoint: server.endpoint, region: server.region,
      credentials: server.credentials, forcePathStyle: true, maxAttempts: 3,
    });
    try {
      const parts = await Promise.all(['a', 'b'].map(async (chain) => {
        const db = await Database.open(join(d.path, `db-${chain}`), { writeBufferSize: 32 * 1024, compression: 'lz4' });
        return { chain, db, ck: new Checkpointer(db, storage, { chain, retain: Infinity }), model: new Map<string, string>() };
      }));
      for (let round = 0; round < 3; round++) {
        for (const p of parts) {
          for (let i = 0; i < 1000; i++) {
            const k = `${p.chain}:${(i * 7 + round * 101) % 2000}`;
            p.db.put(bytes(k), bytes(`${round}-${i}`));
            p.model.set(k, `${round}-${i}`);
          }
        }
        const rs = await Promise.all(parts.map((p) => p.ck.checkpoint({ checkpointId: 10 * (round + 1), application: { round } })));
        expect(rs.map((r) => [r.chain, r.checkpointId])).toEqual([['a', 10 * (round + 1)], ['b', 10 * (round + 1)]]);
      }
      await Promise.all(parts.map((p) => p.ck.discard(10)));
      const referenced = new Set<string>();
      for (const p of parts) {
        expect(await listCheckpointIds(storage, { chain: p.chain })).toEqual([20, 30]);
        for (const id of [20, 30]) for (const f of (await readCheckpointMetadata(storage, id, { chain: p.chain })).files) referenced.add(f.storageName);
        await p.db.close();
      }
      expect((await storage.list('shared/')).map((o) => o.name).sort()).toEqual([...referenced].sort());
      for (const p of parts) {
        const target = join(d.path, `restored-${p.chain}`);
        await restoreCheckpoint(storage, 'latest', target, { chain: p.chain });
        const restored = await Database.open(target);
        expect(new Map([...restored.iterator()].map(([k, v]) => [text(k)!, text(v)!]))).toEqual(p.model);
        await restored.close();
      }
    } finally {
      await storage.close();
      d.cleanup();
    }
  });
});
