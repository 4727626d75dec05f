import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Database, MemFileSystem } from '../../../src/index.js';
import { MergeOperators, createConcat } from '../../../src/compaction/builtin-operators.js';
import type { DatabaseOptions } from '../../../src/db/options.js';
import { bytes, tempDir, text } from '../../helpers/temp-dir.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

const key = (i: number): Uint8Array => bytes(`key${String(i).padStart(6, '0')}`);

/** Small buffers and files so a few thousand writes exercise every level. */
const small: DatabaseOptions = {
  writeBufferSize: 16 * 1024,
  targetFileSizeBase: 32 * 1024,
  maxBytesForLevelBase: 64 * 1024,
  level0FileNumCompactionTrigger: 2,
  compression: 'none',
};

async function fill(db: Database, n: number, round: number): Promise<Map<string, string>> {
  const model = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const k = (i * 7919 + round * 13) % n;
    const v = `v${round}-${k}-${'x'.repeat(40)}`;
    db.put(key(k), bytes(v));
    model.set(text(key(k))!, v);
  }
  return model;
}

function checkAll(db: Database, model: Map<string, string>): void {
  for (const [k, v] of model) expect(text(db.get(bytes(k)))).toBe(v);
  const seen = [...db.iterator()].map(([k, v]) => [text(k)!, text(v)!] as const);
  expect(seen).toEqual([...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

function checkLevelsDisjoint(db: Database): void {
  // Version.checkInvariants runs at open; reopening is the strongest check. Here: stats sanity.
  const stats = db.stats();
  expect(stats.levels.reduce((n, l) => n + l.files, 0)).toBeGreaterThan(0);
}

for (const style of ['leveled', 'universal'] as const) {
  describe(`${style} compaction`, () => {
    it('moves data out of level 0, keeps every value readable, and survives reopen', async () => {
      const fs = new MemFileSystem();
      let db = await Database.open('/db', { ...small, fileSystem: fs, compactionStyle: style });
      let model = new Map<string, string>();
      for (let round = 0; round < 4; round++) model = new Map([...model, ...(await fill(db, 2000, round))]);
      await db.flush();
      await new Promise((r) => setTimeout(r, 20));
      const stats = db.stats();
      expect(stats.compaction.count + stats.compaction.trivialMoves).toBeGreaterThan(0);
      expect(stats.levels.slice(1).some((l) => l.files > 0)).toBe(true);
      expect(stats.writeAmplification).toBeGreaterThan(1);
      checkAll(db, model);
      checkLevelsDisjoint(db);
      await db.close();
      db = await Database.open('/db', { ...small, fileSystem: fs, compactionStyle: style });
      checkAll(db, model);
      await db.close();
    });

    it('compactRange drops overwritten and deleted data and puts everything in the last level', async () => {
      const fs = new MemFileSystem();
      const db = await Database.open('/db', { ...small, fileSystem: fs, compactionStyle: style });
      const model = await fill(db, 1500, 0);
      await fill(db, 1500, 1); // overwrite everything
      const final = await fill(db, 1500, 2);
      for (let i = 0; i < 1500; i += 2) {
        db.delete(key(i));
        final.delete(text(key(i))!);
      }
      void model;
      await db.compactRange();
      const stats = db.stats();
      const nonEmpty = stats.levels.filter((l) => l.files > 0).map((l) => l.level);
      expect(nonEmpty).toEqual([6]);
      // Only the 750 live keys remain: about one version each.
      const liveBytes = [...final.values()].reduce((n, v) => n + v.length + 9 + 8, 0);
      expect(stats.levels[6]!.bytes).toBeLessThan(liveBytes * 1.5);
      checkAll(db, final);
      await db.close();
    });
  });
}

describe('manual compaction', () => {
  for (const style of ['leveled', 'universal'] as const) {
    it(`${style}: concurrent compactRange calls run one after another (found by review: they compacted the same files twice)`, async () => {
      const db = await Database.open('/db', { ...small, fileSystem: new MemFileSystem(), compactionStyle: style });
      const model = await fill(db, 1500, 0);
      await db.compactRange(); // data in the last level, so both calls below have work there
      const more = await fill(db, 1500, 1);
      await Promise.all([db.compactRange(), db.compactRange(), db.compactRange(key(10), key(500))]);
      checkAll(db, new Map([...model, ...more]));
      db.put(key(1), bytes('still writable'));
      await db.close();
    });
  }
});

describe('compactRange does not rewrite what it just wrote', () => {
  it('leveled: L0 into an empty tree is one pass; older last-level files are still rewritten, around the fresh ones', async () => {
    const db = await Database.open('/db', {
      ...small, fileSystem: new MemFileSystem(), disableAutoCompactions: true, maxBytesForLevelBase: 1024 * 1024,
    });
    const model = await fill(db, 1500, 0);
    await db.flush();
    await db.compactRange();
    // Straight into the last level (the base level of an empty tree): no second rewrite.
    expect(db.stats().compaction.count).toBe(1);
    expect(db.stats().levels[6]!.files).toBeGreaterThan(0);
    db.deleteRange(key(100), key(200));
    for (const k of [...model.keys()]) if (k >= text(key(100))! && k < text(key(200))!) model.delete(k);
    await db.flush();
    await db.compactRange();
    // L0 (the range tombstone) into the L6 files it overlaps, then the other, older L6 files are
    // rewritten (at most one run on each side of the fresh outputs).
    const count = db.stats().compaction.count;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThanOrEqual(4);
    checkAll(db, model);
    await db.close();
  });
});

describe('compaction on worker threads (Node file system)', () => {
  it('compacts in the background with a merge operator given as a spec', async () => {
    const d = tempDir();
    cleanups.push(d.cleanup);
    const path = join(d.path, 'db');
    let db = await Database.open(path, { ...small, mergeOperator: MergeOperators.concat() });
    const expected = new Map<string, string>();
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 200; i++) {
        db.merge(key(i), bytes(`${round},`));
        expected.set(text(key(i))!, (expected.get(text(key(i))!) ?? '') + `${round},`);
      }
      db.put(bytes(`filler${round}`), new Uint8Array(2000));
    }
    await db.compactRange();
    expect(db.stats().compaction.count).toBeGreaterThan(0);
    for (const [k, v] of expected) expect(text(db.get(bytes(k)))).toBe(v);
    await db.close();
    db = await Database.open(path, { ...small, mergeOperator: MergeOperators.concat() });
    for (const [k, v] of expected) expect(text(db.get(bytes(k)))).toBe(v);
    await db.close();
  });
});

describe('flush', () => {
  it('leaves out versions no snapshot can see, keeps those a snapshot or a merge needs', async () => {
    const db = await Database.open('/db', { fileSystem: new MemFileSystem(), mergeOperator: createConcat(), compression: 'none' });
    db.put(bytes('a'), bytes('1'));
    db.put(bytes('a'), bytes('2'));
    const snap = db.snapshot();
    db.put(bytes('a'), bytes('3'));
    db.put(bytes('a'), bytes('4'));
    db.put(bytes('b'), bytes('x'));
    db.merge(bytes('b'), bytes('y'));
    db.put(bytes('c'), bytes('gone'));
    db.delete(bytes('c'));
    await db.flush();
    // a: 4 and 2 (the snapshot's); b: the operand and its base; c: the deletion only.
    expect(db.stats().flush.entriesWritten).toBe(5);
    expect(text(db.get(bytes('a')))).toBe('4');
    expect(text(db.get(bytes('a'), { snapshot: snap }))).toBe('2');
    expect(text(db.get(bytes('b')))).toBe('xy');
    expect(db.get(bytes('c'))).toBeUndefined();
    snap.release();
    await db.close();
  });
});

describe('background results while the caller never yields', () => {
  it('a synchronous write loop installs finished compactions (no await, no write stall)', async () => {
    const d = tempDir();
    cleanups.push(d.cleanup);
    // Stall triggers far away: results may only come in through the writes themselves.
    const db = await Database.open(join(d.path, 'db'), {
      ...small, level0SlowdownWritesTrigger: 10_000, level0StopWritesTrigger: 20_000, maxWriteBufferNumber: 64,
    });
    const started = Date.now();
    let i = 0;
    while (db.stats().compaction.count === 0 && Date.now() - started < 20_000) {
      db.put(key(i % 50_000), bytes(`v${i}-${'x'.repeat(60)}`));
      i++;
    }
    expect(db.stats().compaction.count).toBeGreaterThan(0);
    await db.close();
  });
});

describe('merge operator', () => {
  it('resolves operands on get and iteration, forward and reverse, across flushes and snapshots', async () => {
    const db = await Database.open('/db', { ...small, fileSystem: new MemFileSystem(), mergeOperator: createConcat() });
    db.put(bytes('k'), bytes('A'));
    db.merge(bytes('k'), bytes('B'));
    await db.flush();
    const snap = db.snapshot();
    db.merge(bytes('k'), bytes('C'));
    db.merge(bytes('only-merges'), bytes('x'));
    db.merge(bytes('only-merges'), bytes('y'));
    expect(text(db.get(bytes('k')))).toBe('ABC');
    expect(text(db.get(bytes('k'), { snapshot: snap }))).toBe('AB');
    expect(text(db.get(bytes('only-merges')))).toBe('xy');
    expect([...db.iterator()].map(([k, v]) => `${text(k)}=${text(v)}`)).toEqual(['k=ABC', 'only-merges=xy']);
    expect([...db.iterator({ reverse: true })].map(([k, v]) => `${text(k)}=${text(v)}`)).toEqual(['only-merges=xy', 'k=ABC']);
    db.delete(bytes('k'));
    db.merge(bytes('k'), bytes('D'));
    expect(text(db.get(bytes('k')))).toBe('D');
    await db.compactRange();
    expect(text(db.get(bytes('k')))).toBe('D');
    expect(text(db.get(bytes('k'), { snapshot: snap }))).toBe('AB');
    snap.release();
    await db.close();
  });

  it('adds uint64 counters', async () => {
    const db = await Database.open('/db', { fileSystem: new MemFileSystem(), mergeOperator: MergeOperators.uint64Add() });
    const one = new Uint8Array(8);
    one[0] = 1;
    for (let i = 0; i < 1000; i++) db.merge(bytes('count'), one);
    const v = db.get(bytes('count'))!;
    expect(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true)).toBe(1000n);
    await db.close();
  });
});

describe('deleteRange', () => {
  it('hides a range for get and iteration, keeps it for older snapshots, and compaction reclaims it', async () => {
    const db = await Database.open('/db', { ...small, fileSystem: new MemFileSystem() });
    for (let i = 0; i < 1000; i++) db.put(key(i), bytes(`v${i}`));
    await db.flush();
    const snap = db.snapshot();
    db.deleteRange(key(100), key(900));
    db.put(key(500), bytes('after')); // newer than the tombstone: visible
    expect(db.get(key(99))).toBeDefined();
    expect(db.get(key(100))).toBeUndefined();
    expect(db.get(key(899))).toBeUndefined();
    expect(text(db.get(key(900)))).toBe('v900');
    expect(text(db.get(key(500)))).toBe('after');
    expect(text(db.get(key(300), { snapshot: snap }))).toBe('v300');
    expect([...db.iterator()].length).toBe(201);
    expect([...db.iterator({ reverse: true })].length).toBe(201);
    expect([...db.iterator({ snapshot: snap })].length).toBe(1000);
    await db.flush(); // the tombstone goes to a table's range-deletion block
    expect(db.get(key(100))).toBeUndefined();
    snap.release();
    await db.compactRange();
    expect([...db.iterator()].length).toBe(201);
    const bytesAfter = db.stats().levels.reduce((n, l) => n + l.bytes, 0);
    expect(bytesAfter).toBeLessThan(201 * 60);
    await db.close();
  });

  it('survives reopen through the WAL and through tables', async () => {
    const fs = new MemFileSystem();
    let db = await Database.open('/db', { fileSystem: fs });
    for (let i = 0; i < 100; i++) db.put(key(i), bytes('v'));
    db.deleteRange(key(10), key(20));
    await db.close();
    db = await Database.open('/db', { fileSystem: fs });
    expect(db.get(key(15))).toBeUndefined();
    await db.flush();
    await db.close();
    db = await Database.open('/db', { fileSystem: fs });
    expect(db.get(key(15))).toBeUndefined();
    expect([...db.iterator()].length).toBe(90);
    await db.close();
  });
});

describe('compaction filter', () => {
  it('removes and rewrites values during compaction', async () => {
    const db = await Database.open('/db', {
      ...small,
      fileSystem: new MemFileSystem(),
      compactionFilter: {
        name: 'drop-expired',
        filter: (_level, k, v) => (text(v)!.startsWith('expired') ? 'remove' : text(k) === 'upper' ? bytes(text(v)!.toUpperCase()) : 'keep'),
      },
    });
    for (let i = 0; i < 100; i++) db.put(key(i), bytes(i % 2 === 0 ? 'expired' : 'live'));
    db.put(bytes('upper'), bytes('shout'));
    await db.compactRange();
    expect(db.get(key(0))).toBeUndefined();
    expect(text(db.get(key(1)))).toBe('live');
    expect(text(db.get(bytes('upper')))).toBe('SHOUT');
    await db.close();
  });
});

describe('setCompactionFilterOptions', () => {
  it('later compactions (on worker threads) load the filter with the new options', async () => {
    const dir = tempDir();
    const { ttlCompactionFilterSpec } = await import('../../../src/state/ttl-compaction-filter.js');
    const { withTimestamp } = await import('../../../src/state/state-values.js');
    const db = await Database.open(dir.path, { ...small, compactionFilter: ttlCompactionFilterSpec({ states: [] }) });
    try {
      const k = (i: number): Uint8Array => Uint8Array.of(0, 1, i);
      for (let i = 0; i < 10; i++) db.put(k(i), withTimestamp(1000 + i, bytes('v')));
      await db.compactRange();
      expect(db.get(k(0))).toBeDefined(); // no state listed: nothing expires
      await db.setCompactionFilterOptions({ states: [{ stateId: 1, ttlMs: 5, list: false }], nowMs: 1010 });
      await db.compactRange();
      for (let i = 0; i < 10; i++) expect(db.get(k(i)) === undefined).toBe(1000 + i + 5 <= 1010);
    } finally {
      await db.close();
      dir.cleanup();
    }
  });

  it('needs a filter given as a spec', async () => {
    const db = await Database.open('/db', { ...small, fileSystem: new MemFileSystem() });
    await expect(db.setCompactionFilterOptions({})).rejects.toThrow(/spec/);
    await db.close();
  });
});
