/**
 * Found by crash-recovery.test.ts ("a WAL append/sync failure ..."): after one failed WAL write
 * the database kept acknowledging writes. The buffered WAL file drops the bytes it failed to
 * append, so put(k2) (acknowledged, buffered) was lost while a later put(k4, { sync: true })
 * succeeded and survived a crash: a synced write behind a hole. After a WAL failure the log's
 * contents are unknown, so the database must refuse further writes (LSM_IO), as RocksDB does.
 */
import { describe, expect, it } from 'vitest';
import { Database, LsmError, MemFileSystem } from '../../src/index.js';
import { bytes } from '../helpers/temp-dir.js';

describe('regression: a failed WAL write or sync makes the database read-only', () => {
  for (const op of ['append', 'sync'] as const) {
    it(`after a WAL ${op} failure`, async () => {
      const fs = new MemFileSystem();
      const db = await Database.open('/db', { fileSystem: fs });
      db.put(bytes('k1'), bytes('v1'), { sync: true });
      db.put(bytes('k2'), bytes('v2'));
      fs.injectFault({ op, path: /\.log$/, times: 1 });
      expect(() => db.put(bytes('k3'), bytes('v3'), { sync: true })).toThrow();
      // The fault is gone; the database must still refuse to acknowledge writes.
      let err: unknown;
      try {
        db.put(bytes('k4'), bytes('v4'), { sync: true });
      } catch (e) {
        err = e;
      }
      expect(LsmError.is(err, 'LSM_IO')).toBe(true);
      await expect(db.sync()).rejects.toSatisfy((e: unknown) => LsmError.is(e, 'LSM_IO'));
      expect(new TextDecoder().decode(db.get(bytes('k1')))).toBe('v1');
      await db.close().catch(() => undefined);
    });
  }
});
