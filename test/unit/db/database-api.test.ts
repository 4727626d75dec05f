import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptionError, Database, LsmError, MemFileSystem, WriteBatch } from '../../../src/index.js';
import { bytes, tempDir, text } from '../../helpers/temp-dir.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

function dir(): string {
  const d = tempDir();
  cleanups.push(d.cleanup);
  return join(d.path, 'db');
}

describe('Database on the Node file system (worker flushes)', () => {
  it('puts, gets, deletes and survives reopen with data in WAL and tables', async () => {
    const path = dir();
    let db = await Database.open(path, { writeBufferSize: 32 * 1024 });
    for (let i = 0; i < 5000; i++) db.put(bytes(`k${i}`), bytes(`v${i}`));
    for (let i = 0; i < 5000; i += 2) db.delete(bytes(`k${i}`));
    expect(text(db.get(bytes('k1')))).toBe('v1');
    expect(db.get(bytes('k0'))).toBeUndefined();
    await db.flush();
    expect(db.stats().levels[0]!.files).toBeGreaterThan(1);
    db.put(bytes('only-in-wal'), bytes('yes'));
    await db.close();
    db = await Database.open(path);
    expect(text(db.get(bytes('only-in-wal')))).toBe('yes');
    let n = 0;
    for (const [key, value] of db.iterator({ lt: bytes('l') })) {
      expect(text(value)).toBe(`v${text(key)!.slice(1)}`);
      n++;
    }
    expect(n).toBe(2500);
    await db.close();
  });

  it('keeps writing while flushes run, and stalls instead of failing when memtables pile up', async () => {
    const path = dir();
    const db = await Database.open(path, { writeBufferSize: 16 * 1024, maxWriteBufferNumber: 2, compression: 'none' });
    const value = new Uint8Array(1000).fill(7);
    for (let i = 0; i < 3000; i++) db.put(bytes(`key${String(i).padStart(5, '0')}`), value);
    const stats = db.stats();
    expect(stats.stalls.count).toBeGreaterThan(0);
    await db.flush();
    for (let i = 0; i < 3000; i += 97) expect(db.get(bytes(`key${String(i).padStart(5, '0')}`))).toEqual(value);
    await db.close();
  });

  it('refuses a second open of the same directory with LSM_BUSY', async () => {
    const path = dir();
    const db = await Database.open(path);
    await expect(Database.open(path)).rejects.toSatisfy((e: unknown) => LsmError.is(e, 'LSM_BUSY'));
    await db.close();
    const again = await Database.open(path);
    await again.close();
  });

  it('honours createIfMissing and errorIfExists', async () => {
    const path = dir();
    await expect(Database.open(path, { createIfMissing: false })).rejects.toSatisfy((e: unknown) => LsmError.is(e, 'LSM_NOT_FOUND'));
    const db = await Database.open(path);
    await db.close();
    await expect(Database.open(path, { errorIfExists: true })).rejects.toSatisfy((e: unknown) => LsmError.is(e, 'LSM_EXISTS'));
  });

  it('reports a path that is a file as corruption naming it', async () => {
    const d = tempDir();
    cleanups.push(d.cleanup);
    const file = join(d.path, 'not-a-dir');
    writeFileSync(file, 'hello');
    await expect(Database.open(file)).rejects.toSatisfy((e: unknown) => CorruptionError.is(e) && (e as CorruptionError).file === file);
  });
});

describe('Database API contract (in-memory file system)', () => {
  async function open(options = {}): Promise<Database> {
    return Database.open('/db', { fileSystem: new MemFileSystem(), writeBufferSize: 8192, ...options });
  }

  it('throws TypeError for keys and values that are not bytes', async () => {
    const db = await open();
    expect(() => db.put('a' as unknown as Uint8Array, bytes('v'))).toThrow(TypeError);
    expect(() => db.put(bytes('a'), 42 as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => db.get(undefined as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => db.delete(null as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => db.write({} as WriteBatch)).toThrow(TypeError);
    expect(() => db.iterator({ gte: 'x' as unknown as Uint8Array })).toThrow(TypeError);
    await expect(Database.open('/db2', { fileSystem: new MemFileSystem(), writeBufferSize: 'big' as unknown as number })).rejects.toThrow(TypeError);
    await expect(Database.open('/db2', { fileSystem: new MemFileSystem(), compression: 'gzip' as 'lz4' })).rejects.toThrow(RangeError);
    await db.close();
  });

  it('raises ClosedError (LSM_CLOSED) after close, for every call', async () => {
    const db = await open();
    db.put(bytes('a'), bytes('1'));
    const it = db.iterator();
    await db.close();
    const closed = (e: unknown): boolean => LsmError.is(e, 'LSM_CLOSED');
    expect(() => db.put(bytes('a'), bytes('1'))).toThrow(expect.objectContaining({ code: 'LSM_CLOSED' }));
    expect(() => db.get(bytes('a'))).toThrow(expect.objectContaining({ code: 'LSM_CLOSED' }));
    expect(() => db.iterator()).toThrow(expect.objectContaining({ code: 'LSM_CLOSED' }));
    expect(() => it.next()).toThrow(expect.objectContaining({ code: 'LSM_CLOSED' }));
    await expect(db.flush()).rejects.toSatisfy(closed);
    await db.close(); // idempotent
  });

  it('applies a WriteBatch atomically and in order', async () => {
    const db = await open();
    db.put(bytes('x'), bytes('old'));
    const batch = new WriteBatch();
    batch.put(bytes('a'), bytes('1'));
    batch.put(bytes('a'), bytes('2'));
    batch.delete(bytes('x'));
    batch.put(bytes('b'), bytes('3'));
    db.write(batch);
    expect(text(db.get(bytes('a')))).toBe('2');
    expect(db.get(bytes('x'))).toBeUndefined();
    expect(text(db.get(bytes('b')))).toBe('3');
    await db.close();
  });

  it('keeps a snapshot view across later writes and flushes', async () => {
    const db = await open();
    for (let i = 0; i < 200; i++) db.put(bytes(`k${i}`), bytes('before'));
    const snap = db.snapshot();
    for (let i = 0; i < 200; i++) db.put(bytes(`k${i}`), bytes('after'));
    db.delete(bytes('k5'));
    await db.flush();
    expect(text(db.get(bytes('k5'), { snapshot: snap }))).toBe('before');
    expect(db.get(bytes('k5'))).toBeUndefined();
    const seen = [...db.iterator({ snapshot: snap })].map(([, v]) => text(v));
    expect(seen).toHaveLength(200);
    expect(new Set(seen)).toEqual(new Set(['before']));
    snap.release();
    expect(() => db.get(bytes('k1'), { snapshot: snap })).toThrow(expect.objectContaining({ code: 'LSM_CLOSED' }));
    await db.close();
  });

  it('iterates within gt/gte/lt/lte bounds, forward and reverse, with a limit', async () => {
    const db = await open();
    for (const k of ['a', 'b', 'c', 'd', 'e']) db.put(bytes(k), bytes(k.toUpperCase()));
    const keys = (opts: Parameters<Database['iterator']>[0]): string[] => [...db.iterator(opts)].map(([k]) => text(k)!);
    expect(keys({ gt: bytes('b'), lte: bytes('d') })).toEqual(['c', 'd']);
    expect(keys({ gte: bytes('b'), lt: bytes('d') })).toEqual(['b', 'c']);
    expect(keys({ gte: bytes('b'), lt: bytes('d'), reverse: true })).toEqual(['c', 'b']);
    expect(keys({ gt: bytes('a'), lte: bytes('e'), reverse: true, limit: 2 })).toEqual(['e', 'd']);
    expect(keys({ gt: bytes('e') })).toEqual([]);
    expect(keys({ reverse: true })).toEqual(['e', 'd', 'c', 'b', 'a']);
    await db.close();
  });

  it('releases an iterator abandoned by break, so its files can be deleted', async () => {
    const db = await open();
    for (let i = 0; i < 100; i++) db.put(bytes(`k${i}`), bytes('v'));
    for (const _ of db.iterator()) break;
    expect(db.stats().openIterators).toBe(0);
    await db.close();
  });

  it('rejects merge without a mergeOperator, and a reversed deleteRange', async () => {
    const db = await open();
    expect(() => db.merge(bytes('a'), bytes('1'))).toThrow(expect.objectContaining({ code: 'LSM_NOT_SUPPORTED' }));
    expect(() => db.deleteRange(bytes('b'), bytes('a'))).toThrow(RangeError);
    expect(() => db.deleteRange('a' as unknown as Uint8Array, bytes('b'))).toThrow(TypeError);
    await db.close();
  });

  it('stores values larger than the write buffer', async () => {
    const db = await open({ writeBufferSize: 4096 });
    const big = new Uint8Array(100_000).map((_, i) => i & 0xff);
    db.put(bytes('big'), big);
    db.put(bytes('small'), bytes('s'));
    expect(db.get(bytes('big'))).toEqual(big);
    await db.flush();
    expect(db.get(bytes('big'))).toEqual(big);
    await db.close();
  });
});
