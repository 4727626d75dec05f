/**
 * Subcompactions: how a compaction's inputs are cut into key ranges, and a compaction split
 * across worker threads on the real file system giving exactly the data one job would.
 */
import { describe, expect, it } from 'vitest';
import { compareBytes } from '../../../src/base/comparator.js';
import { makeInternalKey } from '../../../src/base/internal-key.js';
import { subcompactionRanges } from '../../../src/compaction/subcompactions.js';
import { Database, WriteBatch } from '../../../src/index.js';
import type { FileMetaData } from '../../../src/manifest/version-edit.js';
import { bytes, tempDir, text } from '../../helpers/temp-dir.js';

const key = (n: number): Uint8Array => bytes(`k${String(n).padStart(6, '0')}`);
const file = (number: number, from: number, to: number, size: number): FileMetaData => ({
  number, size, smallest: makeInternalKey(key(from), 9, 1), largest: makeInternalKey(key(to), 1, 1),
});

describe('subcompactionRanges', () => {
  it('keeps one open range when the inputs are too small to split', () => {
    const files = [file(1, 0, 100, 1000), file(2, 101, 200, 1000)];
    expect(subcompactionRanges(files, 4, 1500)).toEqual([{ lower: undefined, upper: undefined }]);
    expect(subcompactionRanges(files, 1, 1)).toEqual([{ lower: undefined, upper: undefined }]);
  });

  it('cuts a level of equal files into contiguous ranges of about equal bytes', () => {
    const files = Array.from({ length: 12 }, (_, i) => file(i + 1, i * 100, i * 100 + 99, 1000));
    const ranges = subcompactionRanges(files, 3, 1000);
    expect(ranges).toHaveLength(3);
    expect(ranges[0]!.lower).toBeUndefined();
    expect(ranges[2]!.upper).toBeUndefined();
    for (let i = 1; i < ranges.length; i++) {
      expect(ranges[i]!.lower).toEqual(ranges[i - 1]!.upper);
      expect(compareBytes(ranges[i - 1]!.lower ?? new Uint8Array(0), ranges[i]!.lower!)).toBeLessThan(0);
    }
    // Each range holds the files starting in it: four of twelve.
    const inRange = (f: FileMetaData, r: (typeof ranges)[number]): boolean =>
      (r.lower === undefined || compareBytes(f.smallest.subarray(0, 7), r.lower) >= 0) &&
      (r.upper === undefined || compareBytes(f.smallest.subarray(0, 7), r.upper) < 0);
    expect(ranges.map((r) => files.filter((f) => inRange(f, r)).length)).toEqual([4, 4, 4]);
  });

  it('weights ranges by bytes: one big file gets a range of its own', () => {
    const files = [file(1, 0, 99, 100), file(2, 100, 199, 100), file(3, 200, 299, 10_000), file(4, 300, 399, 100)];
    const ranges = subcompactionRanges(files, 2, 100);
    expect(ranges).toHaveLength(2);
    expect(text(ranges[0]!.upper)).toBe('k000200');
  });
});

describe('a compaction split into subcompactions on worker threads', () => {
  it.each(['leveled', 'universal'] as const)('%s: writes the same data as one job would, in disjoint output files', async (style) => {
    const dir = tempDir();
    try {
      const db = await Database.open(dir.path, {
        compactionStyle: style, maxBackgroundJobs: 4, maxSubcompactions: 3, disableAutoCompactions: true, wal: false,
        writeBufferSize: 64 * 1024, targetFileSizeBase: 64 * 1024, compression: 'lz4',
      });
      const model = new Map<string, string>();
      const batch = new WriteBatch();
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 6000; i++) {
          const k = (i * 7919 + round * 31) % 20_000;
          const v = `v${round}-${i}-${'x'.repeat(i % 50)}`;
          if (i % 17 === 0) {
            batch.delete(key(k));
            model.delete(text(key(k))!);
          } else {
            batch.put(key(k), bytes(v));
            model.set(text(key(k))!, v);
          }
          if (batch.count === 500) { db.write(batch); batch.clear(); }
        }
        db.write(batch);
        batch.clear();
        await db.flush();
      }
      db.deleteRange(key(1000), key(1500));
      for (const k of [...model.keys()]) if (k >= 'k001000' && k < 'k001500') model.delete(k);
      await db.compactRange();
      const stats = db.stats();
      expect(stats.compaction.subcompactions).toBeGreaterThan(1);
      expect(stats.levels[6]!.files).toBeGreaterThan(1);
      const got = [...db.iterator()].map(([k, v]) => [text(k), text(v)]);
      expect(got).toEqual([...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
      await db.close();
      // Reopened, the installed version is consistent (disjoint, sorted last level).
      const again = await Database.open(dir.path, { wal: false, compactionStyle: style });
      expect([...again.iterator()].length).toBe(model.size);
      await again.close();
    } finally {
      dir.cleanup();
    }
  }, 60_000);
});

describe('intra-L0 compaction on worker threads', () => {
  it('merges newer level-0 files while a long L0 -> base compaction runs, losing nothing', async () => {
    const dir = tempDir();
    try {
      const db = await Database.open(dir.path, {
        maxBackgroundJobs: 3, maxSubcompactions: 1, wal: false, compression: 'none',
        writeBufferSize: 32 * 1024, targetFileSizeBase: 1024 * 1024, level0FileNumCompactionTrigger: 2,
      });
      const model = new Map<string, string>();
      const put = (n: number, v: string): void => {
        db.put(key(n), bytes(v));
        model.set(text(key(n))!, v);
      };
      // A large last level makes every L0 -> base compaction slow.
      for (let i = 0; i < 80_000; i++) put(i, `base-${i}-${'y'.repeat(80)}`);
      await db.compactRange();
      // Then small flushes, one after another, faster than the base compaction finishes.
      for (let round = 0; round < 400 && db.stats().compaction.intraL0 === 0; round++) {
        for (let i = 0; i < 300; i++) put((round * 7919 + i * 13) % 80_000, `r${round}-${i}`);
        await db.flush();
      }
      expect(db.stats().compaction.intraL0).toBeGreaterThan(0);
      await db.close();
      const again = await Database.open(dir.path, { wal: false });
      const got = new Map([...again.iterator()].map(([k, v]) => [text(k)!, text(v)!]));
      expect(got.size).toBe(model.size);
      for (const [k, v] of model) if (got.get(k) !== v) expect(`${k}=${got.get(k)}`).toBe(`${k}=${v}`);
      await again.close();
    } finally {
      dir.cleanup();
    }
  }, 120_000);
});
