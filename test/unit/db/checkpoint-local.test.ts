import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Database, LsmError, MemFileSystem } from '../../../src/index.js';
import type { DatabaseOptions } from '../../../src/db/options.js';
import { bytes, tempDir, text } from '../../helpers/temp-dir.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

const key = (i: number): Uint8Array => bytes(`key${String(i).padStart(5, '0')}`);
const small: DatabaseOptions = { writeBufferSize: 16 * 1024, targetFileSizeBase: 16 * 1024, level0FileNumCompactionTrigger: 2 };

describe('db.createCheckpoint (local, hard links)', () => {
  it('opens as an independent database while the source keeps writing and compacting', async () => {
    const d = tempDir();
    cleanups.push(d.cleanup);
    const src = await Database.open(join(d.path, 'src'), small);
    for (let i = 0; i < 3000; i++) src.put(key(i), bytes(`v1-${i}`));
    src.put(bytes('only-in-memtable'), bytes('yes')); // the checkpoint flushes it first
    await src.createCheckpoint(join(d.path, 'ckpt'));
    // the source moves on: overwrites, deletes, full compaction (deletes the files it had)
    for (let i = 0; i < 3000; i++) src.put(key(i), bytes(`v2-${i}`));
    src.deleteRange(key(0), key(1000));
    await src.compactRange();
    const ck = await Database.open(join(d.path, 'ckpt'));
    expect(text(ck.get(bytes('only-in-memtable')))).toBe('yes');
    for (let i = 0; i < 3000; i += 37) expect(text(ck.get(key(i)))).toBe(`v1-${i}`);
    expect([...ck.iterator()].length).toBe(3001);
    expect(ck.id).not.toBe(src.id); // its own identity: checkpoint storage names files by it
    ck.put(key(1), bytes('ckpt-write'));
    expect(text(src.get(key(1)))).toBeUndefined();
    expect(text(src.get(key(2000)))).toBe('v2-2000');
    await ck.close();
    await src.close();
  });

  it('cuts at the call: writes made while the flush runs are not in the checkpoint, even with the memtable queue full', async () => {
    const d = tempDir();
    cleanups.push(d.cleanup);
    const src = await Database.open(join(d.path, 'src'), { ...small, maxWriteBufferNumber: 2 });
    for (let i = 0; i < 2000; i++) src.put(key(i), bytes(`before-${i}`));
    const pinned = src.pinLiveFiles();
    const cutSequence = src.stats().sequence;
    const ckpt = src.createCheckpoint(join(d.path, 'ckpt'));
    for (let i = 0; i < 2000; i++) src.put(key(i), bytes(`after-${i}`)); // freezes and flushes more memtables meanwhile
    src.put(bytes('late'), bytes('x'));
    const live = await pinned;
    expect(live.lastSequence).toBe(cutSequence);
    live.release();
    await ckpt;
    const ck = await Database.open(join(d.path, 'ckpt'));
    for (let i = 0; i < 2000; i += 13) expect(text(ck.get(key(i)))).toBe(`before-${i}`);
    expect(ck.get(bytes('late'))).toBeUndefined();
    await ck.close();
    await src.close();
  });

  it('hard-links the tables (same inode), and holds only tables, MANIFEST and CURRENT', async () => {
    const d = tempDir();
    cleanups.push(d.cleanup);
    const src = await Database.open(join(d.path, 'src'), small);
    for (let i = 0; i < 2000; i++) src.put(key(i), bytes(`v-${i}`));
    await src.createCheckpoint(join(d.path, 'ckpt'));
    const names = readdirSync(join(d.path, 'ckpt'));
    expect(names.filter((n) => n.endsWith('.sst')).length).toBeGreaterThan(0);
    expect(names.every((n) => n.endsWith('.sst') || n === 'CURRENT' || n.startsWith('MANIFEST-'))).toBe(true);
    const table = names.find((n) => n.endsWith('.sst'))!;
    if (existsSync(join(d.path, 'src', table))) {
      expect(statSync(join(d.path, 'ckpt', table)).ino).toBe(statSync(join(d.path, 'src', table)).ino);
    }
    await src.close();
  });

  it('refuses a non-empty target directory', async () => {
    const d = tempDir();
    cleanups.push(d.cleanup);
    const src = await Database.open(join(d.path, 'src'));
    mkdirSync(join(d.path, 'busy'));
    writeFileSync(join(d.path, 'busy', 'x'), 'x');
    await expect(src.createCheckpoint(join(d.path, 'busy'))).rejects.toSatisfy((e: unknown) => LsmError.is(e, 'LSM_EXISTS'));
    await expect(src.createCheckpoint(42 as unknown as string)).rejects.toThrow(TypeError);
    await src.close();
  });

  it('pins its files: a released pin lets compaction delete them, a held one does not', async () => {
    const fs = new MemFileSystem();
    const db = await Database.open('/db', { ...small, fileSystem: fs, compression: 'none' });
    for (let i = 0; i < 2000; i++) db.put(key(i), bytes(`v-${i}`));
    const live = await db.pinLiveFiles();
    expect(live.files.length).toBeGreaterThan(0);
    await db.compactRange();
    for (const f of live.files) expect(fs.exists(f.path)).toBe(true);
    live.release();
    await new Promise((r) => setImmediate(r));
    expect(live.files.some((f) => !fs.exists(f.path))).toBe(true);
    await db.close();
  });
});
