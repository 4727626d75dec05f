/**
 * LevelDB (classic-level, LevelDB 1.20) writes; lsm-state reads. LevelDB flushes .ldb tables
 * (snappy-compressed or not) and compacts them into deeper levels; the newest writes stay only
 * in LevelDB's .log, so lsm-state's WAL replay must read LevelDB's log format. Afterwards LevelDB
 * reopens what lsm-state left (its new MANIFEST and the table made from the replayed log).
 */
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/index.js';
import {
  blockTypes, compactAllLevel, copyDir, levelFileCounts, openLevel, removeDir, scanAllTables, settleLevel, summarize, tempDir,
  verifyLevel, verifyLsm, writeLevel,
} from './verify.js';
import { Generator, Model, Rand, SMALL_PROFILE } from './workload.js';

for (const compression of [true, false]) {
  describe(`LevelDB 1.20 (compression ${compression ? 'snappy' : 'off'}) → lsm-state`, () => {
    /** The directory exactly as LevelDB left it; each test works on a copy. */
    let source = '';
    const model = new Model();
    const dirs: string[] = [];
    const copy = (prefix: string): string => {
      const d = copyDir(source, prefix);
      dirs.push(d);
      return d;
    };

    beforeAll(async () => {
      source = tempDir('leveldb-src');
      dirs.push(source);
      const gen = new Generator(new Rand(compression ? 11 : 12), model);
      const level = openLevel(source, { compression });
      await level.open();

      // Phase 1: enough data for many memtable flushes and automatic compactions, then a
      // manual compaction of everything into the deeper levels.
      await writeLevel(level, [...gen.specialOps(), ...gen.ops(5000)], 101);
      await compactAllLevel(level);
      // Phase 1b: overwrites, deletes and new keys into a few level-0 tables above them.
      await writeLevel(level, gen.ops(1200, SMALL_PROFILE), 102);
      await settleLevel(level);
      const counts = levelFileCounts(level);
      expect(counts[0], `LevelDB has level-0 tables (files per level ${counts.join(',')})`).toBeGreaterThan(0);
      expect(counts.slice(1).reduce((a, b) => a + b, 0), `LevelDB compacted into level >= 1 (files per level ${counts.join(',')})`).toBeGreaterThan(0);

      // Phase 2: a tail smaller than the write buffer, so it stays only in the .log: overwrites
      // and deletes of keys that are in tables, a 40 KB value (a log record fragmented over
      // 32 KiB blocks), new keys.
      const tail = [
        ...model.keys.slice(0, 60).map((k, i) => gen.opFor(k, i % 3 === 0 ? 'del' : 'put')),
        gen.opFor(model.keys[100]!, 'put', gen.largeValue(40 * 1024)),
        ...gen.ops(40, SMALL_PROFILE),
      ];
      await writeLevel(level, tail, 103);
      expect(levelFileCounts(level), 'the tail caused no flush').toEqual(counts);
      await level.close();

      const files = summarize(source);
      expect(files.ldb.length, 'LevelDB wrote .ldb tables').toBeGreaterThan(1);
      expect(files.sst).toEqual([]);
      // With snappy on, LevelDB still stores raw the blocks snappy cannot shrink by 1/8.
      if (compression) expect(blockTypes(source, files.ldb), 'snappy data blocks').toContain(1);
      else expect(blockTypes(source, files.ldb), 'data block compression types').toEqual([0]);
      expect(Math.max(0, ...files.logs.map((l) => l.size)), 'the tail is in a non-empty .log').toBeGreaterThan(40 * 1024);
    });

    afterAll(() => {
      for (const d of dirs) removeDir(d);
    });

    it('opens every table LevelDB wrote and reads all its entries', () => {
      expect(scanAllTables(copy('scan'))).toBeGreaterThan(1000);
    });

    it('reads every key (get, forward and reverse iteration), reopens, and LevelDB reads back what lsm-state left', async () => {
      const dir = copy('read');
      const db = await Database.open(dir, { compression: 'snappy' });
      try {
        verifyLsm(db, model, 'lsm-state on LevelDB files');
      } finally {
        await db.close();
      }

      // Reopening with lsm-state (now on its own MANIFEST and recovered table) gives the same.
      const again = await Database.open(dir, { compression: 'snappy' });
      try {
        verifyLsm(again, model, 'lsm-state reopen');
      } finally {
        await again.close();
      }

      // LevelDB reads what lsm-state left: its MANIFEST and the table from the replayed log.
      const back = openLevel(dir, { compression });
      await back.open();
      try {
        await verifyLevel(back, model, 'LevelDB after lsm-state');
      } finally {
        await back.close();
      }
    });

    /**
     * LevelDB closed during a memtable flush or compaction leaves the table it was writing
     * behind, in no MANIFEST, under a number the MANIFEST does not count as used (observed with
     * classic-level: a close right after a write that switched memtables left 000052.ldb, and
     * lsm-state then gave number 52 to the table it wrote from the replayed logs). Planted here
     * deterministically: copies of a real table under the next numbers.
     */
    function plantOrphans(dir: string): string[] {
      const names = readdirSync(dir);
      const max = Math.max(...names.map((n) => /^(?:MANIFEST-)?(\d+)(?:\.(?:log|ldb|sst))?$/.exec(n)).map((m) => (m ? Number(m[1]) : 0)));
      const table = names.find((n) => n.endsWith('.ldb'))!;
      const orphans: string[] = [];
      for (let n = max + 1; n <= max + 8; n++) {
        const name = `${String(n).padStart(6, '0')}.ldb`;
        copyFileSync(join(dir, table), join(dir, name));
        orphans.push(name);
      }
      return orphans;
    }

    it('reads correctly next to orphan tables LevelDB left behind', async () => {
      const dir = copy('orphan-read');
      plantOrphans(dir);
      const db = await Database.open(dir, { compression: 'snappy' });
      try {
        verifyLsm(db, model, 'lsm-state with orphan tables');
      } finally {
        await db.close();
      }
    });

    // Regression: recovery used to give the table it writes from the replayed log the number of
    // an orphan LevelDB table (NNNNNN.ldb no MANIFEST names) and wrote NNNNNN.sst beside it;
    // LevelDB then read the stale .ldb. Recovery now treats every number in the directory as used.
    it('leaves no stale LevelDB table under the number of a table it writes (LevelDB reads back)', async () => {
      const dir = copy('orphan-back');
      plantOrphans(dir);
      const db = await Database.open(dir, { compression: 'snappy' });
      await db.close();
      const back = openLevel(dir, { compression });
      await back.open();
      try {
        await verifyLevel(back, model, 'LevelDB after lsm-state with orphan tables');
      } finally {
        await back.close();
      }
    });
  });
}
