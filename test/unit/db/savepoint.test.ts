import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptionError, Database, LsmError } from '../../../src/index.js';
import type { DatabaseOptions } from '../../../src/db/options.js';
import { LogWriter } from '../../../src/record/log-writer.js';
import { nodeFileSystem } from '../../../src/fs/node-fs.js';
import { RECORD_TRAILER, SAVEPOINT_FILE_NAME, encodeTrailer, readSavepoint } from '../../../src/db/savepoint.js';
import { LogReader } from '../../../src/record/log-reader.js';
import { bytes, tempDir, text } from '../../helpers/temp-dir.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

function dir(): string {
  const t = tempDir('lsm-savepoint-');
  cleanups.push(t.cleanup);
  return t.path;
}

const small: DatabaseOptions = {
  writeBufferSize: 16 * 1024,
  targetFileSizeBase: 32 * 1024,
  maxBytesForLevelBase: 64 * 1024,
  level0FileNumCompactionTrigger: 2,
};

/** A workload with overwrites, deletes and a range delete; returns the expected live state. */
async function build(path: string, options: DatabaseOptions): Promise<{ db: Database; model: Map<string, string> }> {
  const db = await Database.open(path, { ...small, ...options });
  const model = new Map<string, string>();
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 3000; i++) {
      const k = `user:${String((i * 7919 + round) % 3000).padStart(5, '0')}`;
      const v = `r${round}-${i}-${'x'.repeat(i % 97)}`;
      db.put(bytes(k), bytes(v));
      model.set(k, v);
    }
    for (let i = round; i < 3000; i += 11) {
      const k = `user:${String(i).padStart(5, '0')}`;
      db.delete(bytes(k));
      model.delete(k);
    }
  }
  db.deleteRange(bytes('user:01000'), bytes('user:01100'));
  for (const k of [...model.keys()]) if (k >= 'user:01000' && k < 'user:01100') model.delete(k);
  db.put(bytes(''), bytes('empty key'));
  model.set('', 'empty key');
  db.put(bytes('bin'), new Uint8Array(0));
  model.set('bin', '');
  await db.flush();
  return { db, model };
}

function dump(db: Database): [string, string][] {
  return [...db.iterator()].map(([k, v]) => [text(k)!, text(v)!]);
}

function sorted(model: Map<string, string>): [string, string][] {
  return [...model.entries()].sort((a, b) => (Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]))));
}

describe('savepoint', () => {
  const combos: [DatabaseOptions, DatabaseOptions][] = [
    [{ compression: 'none', compactionStyle: 'leveled' }, { compression: 'lz4', compactionStyle: 'universal' }],
    [{ compression: 'snappy', compactionStyle: 'universal' }, { compression: 'none', compactionStyle: 'leveled' }],
    [{ compression: 'lz4', compactionStyle: 'leveled' }, { compression: 'snappy', compactionStyle: 'leveled', blockSize: 1024 } as DatabaseOptions],
  ];
  for (const [from, to] of combos) {
    it(`round trips ${from.compression}/${from.compactionStyle} → ${to.compression}/${to.compactionStyle}`, async () => {
      const root = dir();
      const { db, model } = await build(join(root, 'src'), from);
      const sp = join(root, 'sp');
      const result = await db.exportSavepoint(sp);
      // Writes after the export are not in it: it is one snapshot.
      db.put(bytes('later'), bytes('not in the savepoint'));
      await db.close();
      expect(result.entries).toBe(model.size);
      expect(result.bytes).toBe(sorted(model).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0));
      expect(result.fileBytes).toBeGreaterThan(result.bytes);

      const imported = await Database.importSavepoint(sp, join(root, 'dst'), { ...small, ...to });
      expect(dump(imported)).toEqual(sorted(model));
      await imported.close();
      const reopened = await Database.open(join(root, 'dst'), { ...small, ...to, createIfMissing: false });
      expect(dump(reopened)).toEqual(sorted(model));
      await reopened.close();
    });
  }

  it('exports an empty database', async () => {
    const root = dir();
    const db = await Database.open(join(root, 'src'));
    expect(await db.exportSavepoint(join(root, 'sp'))).toMatchObject({ entries: 0, bytes: 0 });
    await db.close();
    const imported = await Database.importSavepoint(join(root, 'sp'), join(root, 'dst'));
    expect(dump(imported)).toEqual([]);
    await imported.close();
  });

  it('refuses a non-empty savepoint directory and an existing target database', async () => {
    const root = dir();
    const { db } = await build(join(root, 'src'), { compression: 'none' });
    mkdirSync(join(root, 'busy'));
    writeFileSync(join(root, 'busy', 'x'), 'x');
    await expect(db.exportSavepoint(join(root, 'busy'))).rejects.toSatisfy((e) => LsmError.is(e, 'LSM_EXISTS'));
    await db.exportSavepoint(join(root, 'sp'));
    await db.close();
    await expect(Database.importSavepoint(join(root, 'sp'), join(root, 'src'))).rejects.toSatisfy((e) => LsmError.is(e, 'LSM_EXISTS'));
    // The existing database is untouched.
    const again = await Database.open(join(root, 'src'), { createIfMissing: false });
    expect(dump(again).length).toBeGreaterThan(0);
    await again.close();
    await expect(Database.importSavepoint(join(root, 'nothing'), join(root, 'dst2'))).rejects.toSatisfy((e) => LsmError.is(e, 'LSM_NOT_FOUND'));
  });

  it('a flipped byte anywhere is a CorruptionError naming the file, and the target is not left behind', async () => {
    const root = dir();
    const { db } = await build(join(root, 'src'), { compression: 'none' });
    await db.exportSavepoint(join(root, 'sp'));
    await db.close();
    const file = join(root, 'sp', SAVEPOINT_FILE_NAME);
    const original = readFileSync(file);
    for (const at of [10, Math.floor(original.length / 2), original.length - 5]) {
      const damaged = Buffer.from(original);
      damaged[at] = damaged[at]! ^ 0x40;
      writeFileSync(file, damaged);
      const err = await Database.importSavepoint(join(root, 'sp'), join(root, 'dst')).catch((e: unknown) => e);
      expect(CorruptionError.is(err)).toBe(true);
      expect((err as CorruptionError).file).toBe(file);
      expect((err as Error).message).toContain(file);
      expect(existsSync(join(root, 'dst'))).toBe(false);
    }
    // Truncation (a lost trailer) is detected too.
    writeFileSync(file, original.subarray(0, original.length - 40));
    await expect(readSavepoint(join(root, 'sp'))).rejects.toSatisfy((e) => CorruptionError.is(e));
  });

  it('a trailer whose counts do not match the batches is detected', async () => {
    const root = dir();
    const { db, model } = await build(join(root, 'src'), { compression: 'none' });
    await db.exportSavepoint(join(root, 'sp'));
    await db.close();
    // Rewrite the file with well-formed records but a trailer claiming one entry more.
    const file = join(root, 'sp', SAVEPOINT_FILE_NAME);
    const reader = new LogReader(readFileSync(file), file, { mode: 'absoluteConsistency' });
    const records: Uint8Array[] = [];
    for (let r = reader.readRecord(); r !== undefined; r = reader.readRecord()) records.push(r.slice());
    const last = records.pop()!;
    expect(last[0]).toBe(RECORD_TRAILER);
    const parsed = await readSavepoint(join(root, 'sp'));
    expect(parsed.trailer.entries).toBe(model.size);
    const forged = encodeTrailer({ ...parsed.trailer, entries: parsed.trailer.entries + 1 });
    const w = new LogWriter(nodeFileSystem.openWritable(file));
    for (const r of [...records, forged]) w.addRecord(r);
    w.close();
    const err = await Database.importSavepoint(join(root, 'sp'), join(root, 'dst')).catch((e: unknown) => e);
    expect(CorruptionError.is(err)).toBe(true);
    expect((err as Error).message).toMatch(/entry count mismatch/);
    expect((err as CorruptionError).file).toBe(file);

    // A dropped batch record (valid framing) is caught by the batch count.
    const w2 = new LogWriter(nodeFileSystem.openWritable(file));
    for (const r of [...records.slice(0, 1), ...records.slice(2), last]) w2.addRecord(r);
    w2.close();
    await expect(readSavepoint(join(root, 'sp'))).rejects.toThrow(/count mismatch/);
  });
});
