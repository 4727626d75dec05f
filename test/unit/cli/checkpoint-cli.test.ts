import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointStorage, Checkpointer, Database } from '../../../src/index.js';
import type { DatabaseOptions } from '../../../src/db/options.js';
import { cli } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/checkpoint-cli.js';
import { openStorage } from '../../../src/cli/checkpoint-cli.js';
import { S3Storage } from '../../../src/checkpoint/s3-storage.js';
import { bytes, tempDir, text } from '../../helpers/temp-dir.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const small: DatabaseOptions = { writeBufferSize: 16 * 1024, targetFileSizeBase: 16 * 1024, level0FileNumCompactionTrigger: 4 };

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), progress: false };
  const code = await cli(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Three incremental checkpoints of a changing database into directory storage. */
async function setup(): Promise<{ root: string; store: string; model: Map<string, string>; ids: number[] }> {
  const d = tempDir('lsm-cli-');
  cleanups.push(d.cleanup);
  const store = join(d.path, 'store');
  // No compactions: tables from earlier checkpoints stay live, so later checkpoints reuse some.
  const db = await Database.open(join(d.path, 'db'), { ...small, disableAutoCompactions: true });
  cleanups.push(async () => {
    if (!db.isClosed) await db.close();
  });
  const ckpt = new Checkpointer(db, CheckpointStorage.directory(store), { mode: 'incremental', retain: 3 });
  const model = new Map<string, string>();
  const ids: number[] = [];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 1500; i++) {
      const k = `user:${String((i * 31 + round * 500) % 4000).padStart(5, '0')}`;
      const v = `count=${round * 1000 + i};${'e'.repeat(i % 50)}`;
      db.put(bytes(k), bytes(v));
      model.set(k, v);
    }
    ids.push((await ckpt.checkpoint()).checkpointId);
  }
  await db.close();
  return { root: d.path, store, model, ids };
}

describe('lsm-state checkpoint commands', () => {
  it('checkpoints lists every checkpoint with its chain, sizes, mode and parent', async () => {
    const { store, ids } = await setup();
    const r = await run('checkpoints', store);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^chain\s+id\s+time\s+files\s+new\s+uploaded\s+referenced\s+mode\s+parent/);
    for (const id of ids) expect(r.out).toMatch(new RegExp(`^-\\s+${id}\\s+\\d{4}-\\d\\d-\\d\\dT`, 'm'));
    expect(r.out).toContain('incremental');
    expect(r.out).toMatch(/1 chain\(s\): \(unnamed\) \(3\)/);

    const json = JSON.parse((await run('checkpoints', store, '--json')).out) as { chain: string | null; checkpointId: number; parentId: number | null; uploadedBytes: number; referencedBytes: number }[];
    expect(json.map((c) => c.checkpointId)).toEqual(ids);
    expect(json.every((c) => c.chain === null)).toBe(true);
    expect(json[0]!.parentId).toBeNull();
    expect(json[1]!.parentId).toBe(ids[0]);
    expect(json[0]!.referencedBytes).toBe(0);
    expect(json[2]!.referencedBytes).toBeGreaterThan(0);
  });

  it('inspect shows files, sizes, new vs reused and the parent', async () => {
    const { store, ids } = await setup();
    const r = await run('inspect', store, String(ids[2]));
    expect(r.code).toBe(0);
    expect(r.out).toContain(`checkpoint ${ids[2]}`);
    expect(r.out).toMatch(new RegExp(`parent\\s+${ids[1]}`));
    expect(r.out).toMatch(/\d+\.sst\s+\d+\s+\d+\s+[0-9a-f]{8}\s+new\s/);
    expect(r.out).toMatch(/\d+\.sst\s+\d+\s+\d+\s+[0-9a-f]{8}\s+reused\s/);
    const latest = await run('inspect', store, 'latest', '--json');
    expect((JSON.parse(latest.out) as { checkpointId: number }).checkpointId).toBe(ids[2]);
    expect((await run('inspect', store, '999')).code).toBe(1);
    expect((await run('inspect', store, 'abc')).code).toBe(2);
  });

  it('verify passes on intact storage and names a corrupted or missing file with exit 1', async () => {
    const { store, ids } = await setup();
    const ok = await run('verify', store);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/verify ok: 3 checkpoint\(s\)/);
    expect((await run('verify', store, String(ids[0]))).code).toBe(0);

    const meta = JSON.parse((await run('inspect', store, String(ids[0]), '--json')).out) as { files: { storageName: string }[] };
    const victim = meta.files[0]!.storageName;
    const path = join(store, ...victim.split('/'));
    const data = readFileSync(path);
    const at = Math.floor(data.length / 2);
    data[at] = data[at]! ^ 0x01;
    writeFileSync(path, data);
    const bad = await run('verify', store);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(victim);
    expect(bad.err).toMatch(/CRC32C/);

    writeFileSync(path, data.subarray(0, 10));
    const short = await run('verify', store, String(ids[0]));
    expect(short.code).toBe(1);
    expect(short.err).toMatch(new RegExp(`${victim.replace(/[.]/g, '\\.')}.*size 10, expected`));
  });

  it('restore <id|latest> leaves a directory Database.open opens with the checkpointed state', async () => {
    const { root, store, model } = await setup();
    const target = join(root, 'restored');
    const r = await run('restore', store, 'latest', target);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/restored checkpoint \d+ \(claim\)/);
    const db = await Database.open(target, { ...small, createIfMissing: false });
    try {
      const seen = [...db.iterator()].map(([k, v]) => [text(k)!, text(v)!]);
      expect(seen).toEqual([...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    } finally {
      await db.close();
    }
    // A non-empty target is refused (exit 1), bad flags are usage errors (exit 2).
    expect((await run('restore', store, 'latest', target)).code).toBe(1);
    expect((await run('restore', store, 'latest', join(root, 'x'), '--mode', 'steal')).code).toBe(2);
    expect(readdirSync(root)).not.toContain('x');
  });

  it('--chain selects a named chain in checkpoints, inspect, verify and restore; without it every chain is listed and verified', async () => {
    const { root, store, ids } = await setup(); // unnamed chain: ids
    const models = new Map<string, Map<string, string>>();
    for (const [chain, rounds] of [['orders', 2], ['users.v2', 1]] as const) {
      const db = await Database.open(join(root, `db-${chain}`), small);
      cleanups.push(async () => {
        if (!db.isClosed) await db.close();
      });
      const ck = new Checkpointer(db, CheckpointStorage.directory(store), { chain });
      const model = new Map<string, string>();
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < 1200; i++) {
          const k = `${chain}:${String((i * 17 + round * 300) % 2000).padStart(5, '0')}`;
          const v = `${round}-${i}`;
          db.put(bytes(k), bytes(v));
          model.set(k, v);
        }
        await ck.checkpoint({ application: { chain, round } });
      }
      models.set(chain, model);
      await db.close();
    }

    const all = await run('checkpoints', store);
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/^orders\s+1\s+\d{4}-/m);
    expect(all.out).toMatch(/^orders\s+2\s+\d{4}-/m);
    expect(all.out).toMatch(/^users\.v2\s+1\s+\d{4}-/m);
    expect(all.out).toMatch(/3 chain\(s\): \(unnamed\) \(3\), orders \(2\), users\.v2 \(1\)/);
    const orders = JSON.parse((await run('checkpoints', store, '--chain', 'orders', '--json')).out) as { chain: string; checkpointId: number; parentId: number | null }[];
    expect(orders.map((c) => [c.chain, c.checkpointId, c.parentId])).toEqual([['orders', 1, null], ['orders', 2, 1]]);
    expect((await run('checkpoints', store, '--chain', 'none')).out).toMatch(/no checkpoints of chain none/);

    const inspect = await run('inspect', store, 'latest', '--chain', 'orders');
    expect(inspect.code).toBe(0);
    expect(inspect.out).toContain('checkpoint 2 in');
    expect(inspect.out).toMatch(/chain\s+orders/);
    expect(inspect.out).toContain('application   {"chain":"orders","round":1}');
    const inspectJson = JSON.parse((await run('inspect', store, '1', '--chain', 'users.v2', '--json')).out) as { chain: string; application: unknown };
    expect(inspectJson.chain).toBe('users.v2');
    expect(inspectJson.application).toEqual({ chain: 'users.v2', round: 0 });
    expect((await run('inspect', store, 'latest', '--json')).out).toContain(`"checkpointId": ${ids[2]}`); // unnamed chain
    expect((await run('inspect', store, '2', '--chain', 'users.v2')).code).toBe(1);

    const verifyAll = await run('verify', store);
    expect(verifyAll.code).toBe(0);
    expect(verifyAll.out).toMatch(/verify ok: 6 checkpoint\(s\)/);
    expect((await run('verify', store, '--chain', 'orders')).out).toMatch(/verify ok: 2 checkpoint\(s\)/);
    expect((await run('verify', store, 'latest', '--chain', 'users.v2')).out).toMatch(/verify ok: 1 checkpoint\(s\)/);
    const meta = JSON.parse((await run('inspect', store, '1', '--chain', 'users.v2', '--json')).out) as { files: { storageName: string }[] };
    const victim = meta.files[0]!.storageName;
    writeFileSync(join(store, ...victim.split('/')), 'broken');
    const bad = await run('verify', store);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(`${victim} (checkpoint users.v2/1)`);
    expect((await run('verify', store, '--chain', 'orders')).code).toBe(0);

    const target = join(root, 'restored-orders');
    const restored = await run('restore', store, 'latest', target, '--chain', 'orders', '--mode', 'no-claim');
    expect(restored.code).toBe(0);
    expect(restored.out).toMatch(/restored checkpoint orders\/2 \(no-claim\)/);
    const db = await Database.open(target, { ...small, createIfMissing: false });
    try {
      expect(new Map([...db.iterator()].map(([k, v]) => [text(k)!, text(v)!]))).toEqual(models.get('orders'));
    } finally {
      await db.close();
    }
    for (const cmd of [['checkpoints', store], ['inspect', store, '1'], ['verify', store], ['restore', store, '1', join(root, 'x')]]) {
      expect((await run(...cmd, '--chain', '../up')).code).toBe(2);
    }
    expect(readdirSync(root)).not.toContain('x');
  });

  it('usage errors exit 2; an empty storage is not an error', async () => {
    const d = tempDir('lsm-cli-');
    cleanups.push(d.cleanup);
    expect((await run('checkpoints')).code).toBe(2);
    expect((await run('verify')).code).toBe(2);
    expect((await run('restore', d.path, '1')).code).toBe(2);
    expect((await run('checkpoints', 'ftp://x/y')).code).toBe(2);
    const empty = await run('checkpoints', join(d.path, 'none'));
    expect(empty.code).toBe(0);
    expect(empty.out).toMatch(/no checkpoints/);
    expect((await run('help')).out).toMatch(/verify <storage>/);
  });

  it('s3://bucket/prefix storage takes its endpoint from LSM_STATE_S3_ENDPOINT with path-style URLs', async () => {
    const s = openStorage('s3://my-bucket/some/prefix', { LSM_STATE_S3_ENDPOINT: 'http://127.0.0.1:9999' });
    expect(s).toBeInstanceOf(S3Storage);
    const s3 = s as S3Storage;
    expect(s3.bucket).toBe('my-bucket');
    expect(s3.prefix).toBe('some/prefix/');
    expect(await s3.client.config.forcePathStyle).toBe(true);
    await s.close();
    const plain = openStorage('s3://b', {}) as S3Storage;
    expect(plain.prefix).toBe('');
    await plain.close();
  });
});
