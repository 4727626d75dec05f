import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LsmError } from '../../../src/base/errors.js';
import type { CheckpointStorage } from '../../../src/checkpoint/checkpoint-storage.js';
import { S3Storage, S3_MIN_PART_SIZE, s3Storage, type S3StorageOptions } from '../../../src/checkpoint/s3-storage.js';
import { startS3Server, type TestS3Server } from '../../helpers/s3-server.js';
import { bytes, tempDir, text } from '../../helpers/temp-dir.js';
import { storageContract } from './storage-contract.js';

let server: TestS3Server;
let prefixCounter = 0;
const open: CheckpointStorage[] = [];
const dirs: Array<{ cleanup: () => void }> = [];

beforeAll(async () => {
  server = await startS3Server('ckpt-test');
});

afterAll(async () => {
  await server?.stop();
});

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) d.cleanup();
});

function options(extra: Partial<S3StorageOptions> = {}): S3StorageOptions {
  return {
    bucket: server.bucket,
    prefix: `t${++prefixCounter}/`,
    endpoint: server.endpoint,
    region: server.region,
    credentials: server.credentials,
    forcePathStyle: true,
    maxAttempts: 2,
    ...extra,
  };
}

function make(extra: Partial<S3StorageOptions> = {}): S3Storage {
  const s = new S3Storage(options(extra));
  open.push(s);
  return s;
}

function scratch(): string {
  const d = tempDir('lsm-s3-test-');
  dirs.push(d);
  return d.path;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return LsmError.is(err) ? err.code : `non-LsmError: ${String(err)}`;
  }
  return 'resolved';
}

/** Records the S3 command names the storage's client sends. */
function recordCommands(s: S3Storage): string[] {
  const seen: string[] = [];
  s.client.middlewareStack.add(
    (next, context) => async (args) => {
      seen.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return seen;
}

// A fresh prefix per storage, so each is empty; small list pages exercise pagination.
storageContract('s3', async () => new S3Storage(options({ listPageSize: 3 })));

describe('S3Storage', () => {
  it('puts, gets, overwrites and describes', async () => {
    const s = make();
    expect(s.description).toContain(`s3://${server.bucket}/${s.prefix}`);
    await s.putBytes('meta/a.json', bytes('{"a":1}'));
    expect(text(await s.getBytes('meta/a.json'))).toBe('{"a":1}');
    await s.putBytes('meta/a.json', bytes('{"a":2}'));
    expect(text(await s.getBytes('meta/a.json'))).toBe('{"a":2}');
    await s.putBytes('empty', new Uint8Array(0));
    expect((await s.getBytes('empty')).byteLength).toBe(0);
  });

  it('missing objects are LSM_NOT_FOUND; deleting one is fine', async () => {
    const s = make();
    expect(await codeOf(s.getBytes('nope'))).toBe('LSM_NOT_FOUND');
    const dir = scratch();
    expect(await codeOf(s.downloadFile('nope', join(dir, 'x')))).toBe('LSM_NOT_FOUND');
    expect(readdirSync(dir)).toEqual([]);
    await s.delete('nope');
    await s.putBytes('gone', bytes('x'));
    await s.delete('gone');
    expect(await codeOf(s.getBytes('gone'))).toBe('LSM_NOT_FOUND');
    expect(await s.list('')).toEqual([]);
  });

  it('lists by prefix across pages, names relative to the storage prefix', async () => {
    const s = make({ listPageSize: 2 });
    const seen = recordCommands(s);
    const names = ['cp-1/a', 'cp-1/b', 'cp-1/c', 'cp-1/d', 'cp-1/e', 'cp-2/a', 'meta'];
    for (const [i, n] of names.entries()) await s.putBytes(n, new Uint8Array(i + 1));
    const page = await s.list('cp-1/');
    expect(page.map((o) => o.name).sort()).toEqual(['cp-1/a', 'cp-1/b', 'cp-1/c', 'cp-1/d', 'cp-1/e']);
    expect(page.find((o) => o.name === 'cp-1/c')?.size).toBe(3);
    expect(seen.filter((c) => c === 'ListObjectsV2Command').length).toBe(3);
    expect((await s.list('')).map((o) => o.name).sort()).toEqual([...names].sort());
    expect((await s.list('cp-')).length).toBe(6);
    expect(await s.list('zzz')).toEqual([]);
    // Another prefix sees none of it.
    const other = make();
    expect(await other.list('')).toEqual([]);
  });

  it('putFile + downloadFile round-trip a small file and replace the target', async () => {
    const s = make();
    const dir = scratch();
    const src = join(dir, 'src.sst');
    const data = randomBytes(100_000);
    writeFileSync(src, data);
    await s.putFile('cp/000001.sst', src);
    expect(await s.list('cp/')).toEqual([{ name: 'cp/000001.sst', size: data.length }]);
    const dst = join(dir, 'dst.sst');
    writeFileSync(dst, 'old contents');
    await s.downloadFile('cp/000001.sst', dst);
    expect(readFileSync(dst).equals(data)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['dst.sst', 'src.sst']);
    expect(Buffer.from(await s.getBytes('cp/000001.sst')).equals(data)).toBe(true);
  });

  it('putFile of a file larger than partSizeBytes is a multipart upload', async () => {
    const s = make({ partSizeBytes: S3_MIN_PART_SIZE });
    const seen = recordCommands(s);
    const dir = scratch();
    const src = join(dir, 'big.sst');
    const data = randomBytes(2 * S3_MIN_PART_SIZE + 12_345);
    writeFileSync(src, data);
    await s.putFile('big.sst', src);
    expect(seen).toContain('CreateMultipartUploadCommand');
    expect(seen.filter((c) => c === 'UploadPartCommand').length).toBe(3);
    expect(seen).toContain('CompleteMultipartUploadCommand');
    expect(seen).not.toContain('PutObjectCommand');
    expect(await s.list('')).toEqual([{ name: 'big.sst', size: data.length }]);
    const dst = join(dir, 'back.sst');
    await s.downloadFile('big.sst', dst);
    expect(readFileSync(dst).equals(data)).toBe(true);
  });

  it('putFile of a missing local file is LSM_IO and stores nothing', async () => {
    const s = make();
    expect(await codeOf(s.putFile('x', join(scratch(), 'missing')))).toBe('LSM_IO');
    expect(await s.list('')).toEqual([]);
  });

  it('a missing bucket is LSM_IO, not LSM_NOT_FOUND', async () => {
    const s = make({ bucket: 'no-such-bucket' });
    expect(await codeOf(s.getBytes('x'))).toBe('LSM_IO');
    expect(await codeOf(s.putBytes('x', bytes('x')))).toBe('LSM_IO');
  });

  it('a stopped server is LSM_IO after the configured retries', async () => {
    const dead = await startS3Server('ckpt-dead');
    await dead.stop();
    const s = s3Storage({ ...options({ maxAttempts: 2 }), endpoint: dead.endpoint, bucket: dead.bucket });
    open.push(s);
    const seen = recordCommands(s as S3Storage);
    const started = Date.now();
    let caught: unknown;
    try {
      await s.getBytes('x');
    } catch (err) {
      caught = err;
    }
    expect(LsmError.is(caught, 'LSM_IO')).toBe(true);
    const err = caught as LsmError;
    expect(err.cause).toBeDefined();
    expect((err.cause as { $metadata?: { attempts?: number } }).$metadata?.attempts).toBe(2);
    expect(err.message).toMatch(/after 2 attempts/);
    expect(seen).toEqual(['GetObjectCommand']);
    expect(await codeOf(s.putBytes('x', bytes('x')))).toBe('LSM_IO');
    expect(await codeOf(s.list(''))).toBe('LSM_IO');
    expect(await codeOf(s.delete('x'))).toBe('LSM_IO');
    const dir = scratch();
    const src = join(dir, 'f');
    writeFileSync(src, 'data');
    expect(await codeOf(s.putFile('f', src))).toBe('LSM_IO');
    expect(await codeOf(s.downloadFile('f', join(dir, 'g')))).toBe('LSM_IO');
    expect(existsSync(join(dir, 'g'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['f']);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a body cut off part-way is fetched again, up to maxAttempts GETs', async () => {
    // A bare HTTP server standing in for S3: GetObject needs no XML, only headers and a body.
    const payload = randomBytes(64 * 1024);
    let gets = 0;
    let cutAll = false; // false: cut only the odd-numbered responses
    const fake = createServer((req, res) => {
      gets++;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(payload.length) });
      if (cutAll || gets % 2 === 1) {
        res.write(payload.subarray(0, 1000), () => res.socket?.destroy());
      } else {
        res.end(payload);
      }
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const s = make({ endpoint: `http://127.0.0.1:${(fake.address() as AddressInfo).port}`, maxAttempts: 3 });
      expect(Buffer.from(await s.getBytes('obj')).equals(payload)).toBe(true);
      expect(gets).toBe(2);
      gets = 0;
      const dir = scratch();
      await s.downloadFile('obj', join(dir, 'obj'));
      expect(readFileSync(join(dir, 'obj')).equals(payload)).toBe(true);
      expect(readdirSync(dir)).toEqual(['obj']);
      expect(gets).toBe(2);
      gets = 0;
      cutAll = true;
      expect(await codeOf(s.getBytes('obj'))).toBe('LSM_IO');
      expect(gets).toBe(3);
      gets = 0;
      expect(await codeOf(s.downloadFile('obj', join(dir, 'other')))).toBe('LSM_IO');
      expect(gets).toBe(3);
      expect(readdirSync(dir)).toEqual(['obj']);
    } finally {
      fake.closeAllConnections();
      await new Promise((resolve) => fake.close(resolve));
    }
  });

  it('rejects bad names, bad options, and use after close', async () => {
    const s = make();
    await expect(s.putBytes('../x', bytes('x'))).rejects.toThrow(RangeError);
    await expect(s.getBytes('/abs')).rejects.toThrow(RangeError);
    expect(() => new S3Storage(options({ partSizeBytes: 1024 }))).toThrow(RangeError);
    expect(() => new S3Storage(options({ maxAttempts: 0 }))).toThrow(RangeError);
    expect(() => new S3Storage({ ...options(), bucket: '' })).toThrow(TypeError);
    await s.close();
    await s.close();
    expect(await codeOf(s.getBytes('x'))).toBe('LSM_CLOSED');
  });
});
