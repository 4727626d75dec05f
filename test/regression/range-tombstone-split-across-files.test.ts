/**
 * Found by review: a range tombstone kept by a compaction (a snapshot needed it) and cut at an
 * output-file split gives the first file the exclusive bound (K, MAX_SEQUENCE, RangeDeletion)
 * and the next file the smallest user key K. Version.checkInvariants, run at every open, took
 * the shared user key for an overlap, so the database could not be reopened.
 */
import { describe, expect, it } from 'vitest';
import { Database, MemFileSystem } from '../../src/index.js';

const key = (i: number): Uint8Array => new TextEncoder().encode(`k${String(i).padStart(5, '0')}`);

describe('regression: a range tombstone split across output files', () => {
  it('reopens, and the tombstone still hides what it covers', async () => {
    const fs = new MemFileSystem();
    const options = { fileSystem: fs, targetFileSizeBase: 4096, writeBufferSize: 16 * 1024, compression: 'none' as const };
    const db = await Database.open('/db', options);
    for (let i = 0; i < 2000; i++) db.put(key(i), new Uint8Array(40).fill(i & 0xff));
    await db.flush();
    const snap = db.snapshot(); // keeps the tombstone and the data it covers through compaction
    db.deleteRange(key(100), key(1900));
    await db.compactRange();
    expect(db.stats().levels[6]!.files).toBeGreaterThan(2); // the tombstone spans several outputs
    snap.release();
    await db.close();
    const again = await Database.open('/db', options);
    expect(again.get(key(99))).toBeDefined();
    expect(again.get(key(100))).toBeUndefined();
    expect(again.get(key(1899))).toBeUndefined();
    expect(again.get(key(1900))).toBeDefined();
    expect([...again.iterator()].length).toBe(200);
    await again.close();
  });
});
