/**
 * Shrunk from crash-recovery.test.ts: [flush, del(''), put('', 100B), put('', 4000B, { sync: true })]
 * then a crash lost the synced put. A write that does not fit the memtable freezes it and starts
 * a new WAL; two things then broke "what a sync acknowledged survives a crash":
 * - the new WAL's directory entry was never made durable, so after power loss the file (with
 *   the synced write in it) did not exist;
 * - the old WAL was closed without a sync, so writes acknowledged before the synced one were
 *   lost while the synced one survived (a hole in the history).
 */
import { describe, expect, it } from 'vitest';
import { Database, MemFileSystem } from '../../src/index.js';
import { bytes, text } from '../helpers/temp-dir.js';

const options = (fs: MemFileSystem) => ({ fileSystem: fs, writeBufferSize: 4096 });

describe('regression: synced writes across a memtable switch survive a crash', () => {
  it('keeps a synced write that went to a freshly created WAL', async () => {
    const fs = new MemFileSystem();
    const db = await Database.open('/db', options(fs));
    db.put(bytes('a'), bytes('first'), { sync: true });
    db.put(bytes('b'), new Uint8Array(4000).fill(7), { sync: true }); // does not fit: new memtable, new WAL
    const crashed = fs.crashClone();
    await db.close();
    const after = await Database.open('/db', options(crashed));
    expect(text(after.get(bytes('a')))).toBe('first');
    expect(after.get(bytes('b'))?.length).toBe(4000);
    await after.close();
  });

  it('keeps writes acknowledged in the previous WAL before a later sync', async () => {
    const fs = new MemFileSystem();
    const db = await Database.open('/db', options(fs));
    db.put(bytes('a'), bytes('unsynced but acknowledged'));
    db.put(bytes('b'), new Uint8Array(4000).fill(7), { sync: true });
    const crashed = fs.crashClone();
    await db.close();
    const after = await Database.open('/db', options(crashed));
    expect(after.get(bytes('b'))?.length).toBe(4000);
    expect(text(after.get(bytes('a')))).toBe('unsynced but acknowledged');
    await after.close();
  });
});
