/**
 * A crash during compaction leaves the database consistent: the inputs stay live until the
 * VersionEdit naming the outputs is durable, and outputs no durable edit names are deleted on
 * open. Crashes are simulated by failing the MANIFEST write (or a table sync) with injected
 * faults and then taking a crash clone of the in-memory file system.
 */
import { describe, expect, it } from 'vitest';
import { Database, MemFileSystem } from '../../src/index.js';
import type { DatabaseOptions } from '../../src/db/options.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

async function loaded(fs: MemFileSystem, options: DatabaseOptions): Promise<{ db: Database; model: Map<string, string> }> {
  const db = await Database.open('/db', options);
  const model = new Map<string, string>();
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 300; i++) {
      const k = `k${String((i * 31 + round) % 300).padStart(4, '0')}`;
      const v = `r${round}-${'z'.repeat(50)}`;
      db.put(enc(k), enc(v), { sync: true });
      model.set(k, v);
    }
    await db.flush();
  }
  return { db, model };
}

function tableFiles(fs: MemFileSystem): string[] {
  return fs.list('/db').filter((n) => n.endsWith('.sst'));
}

for (const style of ['leveled', 'universal'] as const) {
  describe(`crash during ${style} compaction`, () => {
    const base = (fs: MemFileSystem): DatabaseOptions => ({
      fileSystem: fs, compactionStyle: style, disableAutoCompactions: true, compression: 'none',
      writeBufferSize: 8192, targetFileSizeBase: 4096,
    });

    it('before the MANIFEST edit: inputs stay, orphan outputs are deleted on open, nothing is lost', async () => {
      const fs = new MemFileSystem();
      const { db, model } = await loaded(fs, base(fs));
      const before = db.stats().levels.map((l) => l.files);
      fs.injectFault({ op: 'append', path: /MANIFEST/ });
      await expect(db.compactRange()).rejects.toSatisfy((e: unknown) => (e as { code?: string }).code === 'LSM_IO');
      const crashed = fs.crashClone();
      expect(tableFiles(crashed).length).toBeGreaterThan(before.reduce((a, b) => a + b, 0)); // outputs were written
      await db.close().catch(() => undefined);
      const after = await Database.open('/db', base(crashed));
      expect(after.stats().levels.map((l) => l.files)).toEqual(before);
      expect(tableFiles(crashed).length).toBe(before.reduce((a, b) => a + b, 0)); // orphans deleted
      for (const [k, v] of model) expect(dec(after.get(enc(k)))).toBe(v);
      await after.compactRange(); // and it compacts fine afterwards
      for (const [k, v] of model) expect(dec(after.get(enc(k)))).toBe(v);
      await after.close();
    });

    it('a table sync failing mid-compaction makes writes fail with LSM_IO and loses nothing on reopen', async () => {
      const fs = new MemFileSystem();
      const { db, model } = await loaded(fs, base(fs));
      fs.injectFault({ op: 'sync', path: /\.sst$/ });
      await expect(db.compactRange()).rejects.toBeDefined();
      expect(() => db.put(enc('x'), enc('y'))).toThrow(expect.objectContaining({ code: 'LSM_IO' }));
      fs.clearFaults();
      const crashed = fs.crashClone();
      await db.close().catch(() => undefined);
      const after = await Database.open('/db', base(crashed));
      for (const [k, v] of model) expect(dec(after.get(enc(k)))).toBe(v);
      await after.close();
    });

    it('after the MANIFEST edit: the compacted state survives a crash', async () => {
      const fs = new MemFileSystem();
      const { db, model } = await loaded(fs, base(fs));
      await db.compactRange();
      const levels = db.stats().levels.map((l) => l.files);
      const crashed = fs.crashClone();
      await db.close();
      const after = await Database.open('/db', base(crashed));
      expect(after.stats().levels.map((l) => l.files)).toEqual(levels);
      for (const [k, v] of model) expect(dec(after.get(enc(k)))).toBe(v);
      await after.close();
    });
  });
}
