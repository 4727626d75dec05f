/**
 * lsm-state writes (snappy or uncompressed tables, a small write buffer so several level-0
 * tables are flushed, the newest writes left only in its WAL); LevelDB (classic-level,
 * LevelDB 1.20) reads everything. Then LevelDB writes more and compacts every lsm-state table
 * away, and lsm-state reads the result: a round trip through the other engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/index.js';
import type { CompressionName } from '../../src/index.js';
import {
  blockTypes, compactAllLevel, copyDir, levelFileCounts, openLevel, removeDir, scanAllTables, summarize, tempDir, verifyLevel,
  verifyLsm, writeLevel, writeLsm,
} from './verify.js';
import { Generator, Model, Rand, SMALL_PROFILE } from './workload.js';

const compressions: CompressionName[] = ['snappy', 'none'];

for (const compression of compressions) {
  describe(`lsm-state (compression ${compression}) → LevelDB 1.20`, () => {
    /** The directory exactly as lsm-state left it; each test works on a copy. */
    let source = '';
    const model = new Model();
    let gen: Generator;
    const dirs: string[] = [];
    const copy = (prefix: string): string => {
      const d = copyDir(source, prefix);
      dirs.push(d);
      return d;
    };

    beforeAll(async () => {
      source = tempDir('lsm-src');
      dirs.push(source);
      gen = new Generator(new Rand(compression === 'snappy' ? 21 : 22), model);
      // Automatic compactions off: this test wants several level-0 tables of ours for LevelDB to read.
      const db = await Database.open(source, { compression, writeBufferSize: 64 * 1024, disableAutoCompactions: true });
      try {
        writeLsm(db, [...gen.specialOps(), ...gen.ops(5000)], 201);
        await db.flush();
        // A tail smaller than the write buffer stays only in the WAL: overwrites and deletes of
        // flushed keys, a 40 KB value (a record fragmented over 32 KiB log blocks), new keys.
        const tail = [
          ...model.keys.slice(0, 60).map((k, i) => gen.opFor(k, i % 3 === 0 ? 'del' : 'put')),
          gen.opFor(model.keys[100]!, 'put', gen.largeValue(40 * 1024)),
          ...gen.ops(40, SMALL_PROFILE),
        ];
        writeLsm(db, tail, 202);
        const stats = db.stats();
        expect(stats.levels[0]!.files, 'several level-0 tables were flushed').toBeGreaterThan(3);
        expect(stats.memtable.activeEntries, 'the tail is only in the memtable and WAL').toBe(tail.length);
        expect(stats.memtable.immutableCount).toBe(0);
      } finally {
        await db.close();
      }
      const files = summarize(source);
      expect(files.sst.length).toBeGreaterThan(3);
      expect(blockTypes(source, files.sst), 'data block compression types').toContain(compression === 'snappy' ? 1 : 0);
      if (compression === 'none') expect(blockTypes(source, files.sst)).toEqual([0]);
      expect(Math.max(0, ...files.logs.map((l) => l.size)), 'the tail is in a non-empty WAL').toBeGreaterThan(40 * 1024);
    });

    afterAll(() => {
      for (const d of dirs) removeDir(d);
    });

    it('lsm-state reads its own files back', async () => {
      const db = await Database.open(copy('self'), { compression });
      try {
        verifyLsm(db, model, 'lsm-state on its own files');
      } finally {
        await db.close();
      }
    });

    it('LevelDB reads every key (get, forward and reverse iteration) and no deleted one', async () => {
      const level = openLevel(copy('leveldb-read'), { compression: compression !== 'none' });
      await level.open();
      try {
        await verifyLevel(level, model, 'LevelDB on lsm-state files');
      } finally {
        await level.close();
      }
    });

    it('round trip: LevelDB writes more and compacts everything, lsm-state reads it all', async () => {
      const dir = copy('round-trip');
      const level = openLevel(dir, { compression: compression !== 'none' });
      await level.open();
      try {
        await verifyLevel(level, model, 'LevelDB on lsm-state files');
        await writeLevel(level, gen.ops(1500), 203);
        await compactAllLevel(level);
        const counts = levelFileCounts(level);
        expect(counts[0], `LevelDB compacted level 0 away (files per level ${counts.join(',')})`).toBe(0);
        // A tail left in LevelDB's log, for lsm-state's WAL replay.
        const tail = [
          ...model.keys.slice(200, 260).map((k, i) => gen.opFor(k, i % 4 === 0 ? 'del' : 'put')),
          ...gen.ops(40, SMALL_PROFILE),
        ];
        await writeLevel(level, tail, 204);
        // No reads here: a read can schedule a seek compaction, and closing LevelDB during one
        // leaves a half-written table behind.
        expect(levelFileCounts(level), 'the tail caused no flush').toEqual(counts);
      } finally {
        await level.close();
      }

      const files = summarize(dir);
      expect(files.sst, 'LevelDB rewrote every lsm-state table').toEqual([]);
      expect(files.ldb.length).toBeGreaterThan(0);
      expect(Math.max(0, ...files.logs.map((l) => l.size))).toBeGreaterThan(0);

      // lsm-state refuses nothing LevelDB wrote: every table, the MANIFEST, the log.
      expect(scanAllTables(dir)).toBeGreaterThan(1000);
      const db = await Database.open(dir, { compression });
      try {
        verifyLsm(db, model, 'lsm-state after LevelDB compaction');
      } finally {
        await db.close();
      }
    });
  });
}
