/**
 * Found by review of the WAL reader: in the default recovery mode a flipped byte in a record
 * of the WAL's last 32 KiB block was classified as a torn tail, because the reader looks for
 * intact records only from the next block on. Five synced puts and one flipped byte then
 * opened cleanly with zero keys. Damage followed by intact records must be corruption.
 */
import { describe, expect, it } from 'vitest';
import { Database, MemFileSystem } from '../../src/index.js';

describe('regression: a bit flip inside the last WAL block', () => {
  it('is reported as corruption, not dropped as a torn tail', async () => {
    const fs = new MemFileSystem();
    const db = await Database.open('/db', { fileSystem: fs });
    for (let i = 0; i < 5; i++) db.put(Buffer.from(`key${i}`), Buffer.from(`value${i}`), { sync: true });
    const crashed = fs.crashClone();
    await db.close();
    const wal = crashed.list('/db').find((n) => n.endsWith('.log'))!;
    crashed.corrupt(`/db/${wal}`, 12); // inside the first record's payload
    await expect(Database.open('/db', { fileSystem: crashed })).rejects.toSatisfy(
      (e: unknown) => (e as { code?: string }).code === 'LSM_CORRUPTION' && String((e as Error).message).includes(wal),
    );
  });

  it('still drops a torn last record', async () => {
    const fs = new MemFileSystem();
    const db = await Database.open('/db', { fileSystem: fs });
    for (let i = 0; i < 5; i++) db.put(Buffer.from(`key${i}`), Buffer.from(`value${i}`), { sync: true });
    const crashed = fs.crashClone();
    await db.close();
    const wal = crashed.list('/db').find((n) => n.endsWith('.log'))!;
    crashed.truncate(`/db/${wal}`, crashed.fileSize(`/db/${wal}`) - 3);
    const after = await Database.open('/db', { fileSystem: crashed });
    expect([...after.iterator()].length).toBe(4);
    await after.close();
  });
});
