/**
 * After leveled compaction (files in levels >= 1, written by our compaction job with
 * grandparent splits) the database still opens in LevelDB and every key reads back equal.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { Database } from '../../src/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('lsm-state after compaction → LevelDB 1.20', () => {
  it('LevelDB reads every key of a compacted multi-level database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-compacted-'));
    dirs.push(dir);
    const model = new Map<string, string>();
    const db = await Database.open(dir, {
      compression: 'snappy', writeBufferSize: 32 * 1024, targetFileSizeBase: 32 * 1024,
      maxBytesForLevelBase: 128 * 1024, level0FileNumCompactionTrigger: 2,
    });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 3000; i++) {
        const k = `k${String((i * 7919 + round) % 3000).padStart(5, '0')}`;
        const v = `${round}:${k}:${'y'.repeat(30)}`;
        db.put(Buffer.from(k), Buffer.from(v));
        model.set(k, v);
      }
    }
    for (let i = 0; i < 3000; i += 5) {
      const k = `k${String(i).padStart(5, '0')}`;
      db.delete(Buffer.from(k));
      model.delete(k);
    }
    await db.flush();
    await db.compactRange(Buffer.from('k00000'), Buffer.from('k01500'));
    const levels = db.stats().levels.filter((l) => l.files > 0).map((l) => l.level);
    expect(levels.some((l) => l > 0)).toBe(true);
    await db.close();

    const level = new ClassicLevel<string, string>(dir, { createIfMissing: false });
    await level.open();
    try {
      for (const [k, v] of model) expect(await level.get(k)).toBe(v);
      const seen: string[] = [];
      for await (const k of level.keys()) seen.push(k);
      expect(seen).toEqual([...model.keys()].sort());
    } finally {
      await level.close();
    }
  });
});
