import { describe, expect, it } from 'vitest';
import { makeInternalKey, ValueKind } from '../../../src/base/internal-key.js';
import { DEFAULT_COMPACTION_OPTIONS, resolveCompactionOptions } from '../../../src/compaction/compaction-options.js';
import {
  levelScores, levelTargets, overlappingFiles, pendingCompactionBytes, type PickerInput, targetFileSizeForLevel,
} from '../../../src/compaction/compaction-plan.js';
import { NUM_LEVELS } from '../../../src/manifest/version.js';
import type { FileMetaData } from '../../../src/manifest/version-edit.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
const enc = new TextEncoder();

let nextNumber = 1;
function file(size: number, smallest = 'a', largest = 'z', number = nextNumber++): FileMetaData {
  return {
    number,
    size,
    smallest: makeInternalKey(enc.encode(smallest), number, ValueKind.Value),
    largest: makeInternalKey(enc.encode(largest), number, ValueKind.Value),
  };
}

function lsm(levels: Partial<Record<number, FileMetaData[]>>): FileMetaData[][] {
  return Array.from({ length: NUM_LEVELS }, (_, i) => levels[i] ?? []);
}

function input(files: FileMetaData[][], beingCompacted: number[] = []): PickerInput {
  return { files, beingCompacted: new Set(beingCompacted), compactPointers: new Map() };
}

const staticOptions = resolveCompactionOptions({ levelCompactionDynamicLevelBytes: false });
const dynamicOptions = resolveCompactionOptions({});

describe('resolveCompactionOptions', () => {
  it('fills in RocksDB defaults', () => {
    const o = resolveCompactionOptions();
    expect(o).toEqual(DEFAULT_COMPACTION_OPTIONS);
    expect(o.maxCompactionBytes).toBe(25 * 64 * MiB);
    expect(o.maxMergeWidth).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('derives maxCompactionBytes from targetFileSizeBase', () => {
    expect(resolveCompactionOptions({ targetFileSizeBase: 2 * MiB }).maxCompactionBytes).toBe(50 * MiB);
    expect(resolveCompactionOptions({ targetFileSizeBase: 2 * MiB, maxCompactionBytes: MiB }).maxCompactionBytes).toBe(MiB);
  });

  it('throws TypeError for wrong types and RangeError for bad values', () => {
    expect(() => resolveCompactionOptions({ compactionStyle: 3 as never })).toThrow(TypeError);
    expect(() => resolveCompactionOptions({ compactionStyle: 'fifo' as never })).toThrow(RangeError);
    expect(() => resolveCompactionOptions({ level0FileNumCompactionTrigger: 1.5 })).toThrow(TypeError);
    expect(() => resolveCompactionOptions({ level0FileNumCompactionTrigger: 0 })).toThrow(RangeError);
    expect(() => resolveCompactionOptions({ levelCompactionDynamicLevelBytes: 'yes' as never })).toThrow(TypeError);
    expect(() => resolveCompactionOptions({ maxBytesForLevelMultiplier: Number.NaN })).toThrow(TypeError);
    expect(() => resolveCompactionOptions({ maxBytesForLevelMultiplier: 1 })).toThrow(RangeError);
    expect(() => resolveCompactionOptions({ minMergeWidth: 1 })).toThrow(RangeError);
    expect(() => resolveCompactionOptions({ minMergeWidth: 4, maxMergeWidth: 3 })).toThrow(RangeError);
    expect(() => resolveCompactionOptions(null as never)).toThrow(TypeError);
  });

  it('keeps trigger <= slowdown <= stop: raises defaults, rejects explicit disorder', () => {
    const o = resolveCompactionOptions({ level0FileNumCompactionTrigger: 30 });
    expect([o.level0SlowdownWritesTrigger, o.level0StopWritesTrigger]).toEqual([30, 36]);
    const p = resolveCompactionOptions({ level0FileNumCompactionTrigger: 40 });
    expect([p.level0SlowdownWritesTrigger, p.level0StopWritesTrigger]).toEqual([40, 40]);
    expect(() => resolveCompactionOptions({ level0FileNumCompactionTrigger: 8, level0SlowdownWritesTrigger: 4 })).toThrow(RangeError);
    expect(() => resolveCompactionOptions({ level0SlowdownWritesTrigger: 30, level0StopWritesTrigger: 20 })).toThrow(RangeError);
  });
});

describe('levelTargets', () => {
  it('static: L1 = maxBytesForLevelBase, each level multiplier times the one above, base level 1', () => {
    const t = levelTargets(lsm({ 6: [file(100 * GiB)] }), staticOptions);
    expect(t.baseLevel).toBe(1);
    expect(t.targetBytes.slice(1)).toEqual([256 * MiB, 2560 * MiB, 25600 * MiB, 256000 * MiB, 2560000 * MiB, 25600000 * MiB]);
  });

  it('universal always uses static targets', () => {
    const t = levelTargets(lsm({ 6: [file(100 * GiB)] }), resolveCompactionOptions({ compactionStyle: 'universal' }));
    expect(t.baseLevel).toBe(1);
    expect(t.targetBytes[2]).toBe(2560 * MiB);
  });

  it('dynamic: no data below L0 makes the last level the base level', () => {
    const t = levelTargets(lsm({ 0: [file(64 * MiB)] }), dynamicOptions);
    expect(t.baseLevel).toBe(NUM_LEVELS - 1);
    expect(t.targetBytes.slice(1, NUM_LEVELS - 1).every((b) => b === Number.MAX_SAFE_INTEGER)).toBe(true);
  });

  it('dynamic: targets divide down from the last level to the first level at most maxBytesForLevelBase', () => {
    const t = levelTargets(lsm({ 6: [file(20 * GiB)] }), dynamicOptions);
    // 20G -> L5 2G -> L4 204.8M (<= 256M): base level 4, whose target is raised to 256M.
    expect(t.baseLevel).toBe(4);
    const l4 = Math.floor(Math.floor((20 * GiB) / 10) / 10);
    expect(t.targetBytes[4]).toBe(256 * MiB);
    expect(t.targetBytes[5]).toBe(l4 * 10);
    expect(t.targetBytes[6]).toBe(l4 * 100);
    expect(t.targetBytes[1]).toBe(Number.MAX_SAFE_INTEGER);
    expect(t.targetBytes[3]).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('dynamic: the largest level >= 1 sets the sizes even when it is not the last', () => {
    const t = levelTargets(lsm({ 4: [file(10 * GiB)], 6: [file(GiB)] }), dynamicOptions);
    // 10G at L4 stands for L6: L5 1G, L4 102.4M -> base level 4 (the first non-empty level).
    expect(t.baseLevel).toBe(4);
    expect(t.targetBytes[6]).toBe(Math.floor(Math.floor((10 * GiB) / 10) / 10) * 100);
  });

  it('dynamic: when L1 would exceed maxBytesForLevelBase, base level 1 gets maxBytesForLevelBase', () => {
    const t = levelTargets(lsm({ 6: [file(100 * TiB)] }), dynamicOptions);
    expect(t.baseLevel).toBe(1);
    expect(t.targetBytes[1]).toBe(256 * MiB);
    expect(t.targetBytes[2]).toBe(2560 * MiB);
  });

  it('dynamic: more levels than needed keep the first non-empty level as base, target base/multiplier + 1 raised to base', () => {
    const t = levelTargets(lsm({ 2: [file(MiB)], 6: [file(MiB)] }), dynamicOptions);
    expect(t.baseLevel).toBe(2);
    expect(t.targetBytes[2]).toBe(256 * MiB);
    const base = Math.floor((256 * MiB) / 10) + 1;
    expect(t.targetBytes[3]).toBe(base * 10);
    expect(t.targetBytes[4]).toBe(base * 100);
  });
});

describe('targetFileSizeForLevel', () => {
  it('multiplies from L1 (static) or from the base level (dynamic)', () => {
    const s = resolveCompactionOptions({ levelCompactionDynamicLevelBytes: false, targetFileSizeMultiplier: 2 });
    const d = resolveCompactionOptions({ targetFileSizeMultiplier: 2 });
    expect(targetFileSizeForLevel(s, 3)).toBe(256 * MiB);
    expect(targetFileSizeForLevel(d, 3, 3)).toBe(64 * MiB);
    expect(targetFileSizeForLevel(d, 5, 3)).toBe(256 * MiB);
    expect(targetFileSizeForLevel(resolveCompactionOptions({ compactionStyle: 'universal' }), 0)).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('pendingCompactionBytes', () => {
  it('is 0 for a tree within its targets and for universal', () => {
    expect(pendingCompactionBytes(input(lsm({})), staticOptions)).toBe(0);
    expect(pendingCompactionBytes(input(lsm({ 1: [file(100 * MiB)] })), staticOptions)).toBe(0);
    const busy = lsm({ 0: [file(GiB), file(GiB), file(GiB), file(GiB)], 1: [file(10 * GiB)] });
    expect(pendingCompactionBytes(input(busy), resolveCompactionOptions({ compactionStyle: 'universal' }))).toBe(0);
  });

  it('counts L0 and the base level once L0 reaches its trigger', () => {
    const files = lsm({ 0: [file(64 * MiB), file(64 * MiB), file(64 * MiB), file(64 * MiB)], 1: [file(100 * MiB)] });
    // L0 256M + L1 100M; L1 then holds 356M > 256M: 100M go on to an empty L2 (no fan-out cost).
    expect(pendingCompactionBytes(input(files), staticOptions)).toBe(356 * MiB);
  });

  it('counts L0 by size too (maxBytesForLevelBase)', () => {
    const files = lsm({ 0: [file(300 * MiB)] });
    expect(pendingCompactionBytes(input(files), staticOptions)).toBe(300 * MiB);
  });

  it('weights a level excess by the fan-out into the next level and carries it down', () => {
    const l1 = 300 * MiB;
    const l2 = 2600 * MiB;
    const l3 = 10 * GiB;
    const files = lsm({ 1: [file(l1)], 2: [file(l2)], 3: [file(l3)] });
    const excess1 = l1 - 256 * MiB;
    let expected = Math.floor(excess1 * (l2 / l1 + 1));
    const l2Total = l2 + excess1;
    const excess2 = l2Total - 2560 * MiB;
    expected += Math.floor(excess2 * (l3 / l2Total + 1));
    expect(pendingCompactionBytes(input(files), staticOptions)).toBe(expected);
  });

  it('starts at the dynamic base level', () => {
    const files = lsm({ 0: [file(64 * MiB), file(64 * MiB), file(64 * MiB), file(64 * MiB)], 6: [file(20 * GiB)] });
    // base level 4 (empty): L0's 256M land there, within its 256M target.
    expect(pendingCompactionBytes(input(files), dynamicOptions)).toBe(256 * MiB);
  });
});

describe('levelScores', () => {
  it('leveled: L0 by files not being compacted, L1+ by bytes not being compacted over target, no last level', () => {
    const l0 = [file(MiB), file(MiB), file(MiB), file(MiB), file(MiB), file(MiB)];
    const l1 = [file(200 * MiB, 'a', 'm'), file(184 * MiB, 'n', 'z')];
    const files = lsm({ 0: l0, 1: l1, 6: [file(GiB)] });
    const scores = levelScores(input(files, [l0[0]!.number, l0[1]!.number, l1[1]!.number]), staticOptions);
    expect(scores.map((s) => s.level)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(scores[0]!.score).toBe(1);
    expect(scores[1]!.score).toBeCloseTo(200 / 256);
    expect(scores[2]!.score).toBe(0);
  });

  it('leveled dynamic: levels above the base level score 0', () => {
    const files = lsm({ 4: [file(GiB)], 6: [file(20 * GiB)] });
    const scores = levelScores(input(files), dynamicOptions);
    expect(scores[3]!.score).toBe(0);
    expect(scores[4]!.score).toBe(4);
  });

  it('universal: one score, sorted runs not being compacted over the trigger', () => {
    const l0 = [file(MiB), file(MiB), file(MiB)];
    const files = lsm({ 0: l0, 3: [file(GiB, 'a', 'm'), file(GiB, 'n', 'z')], 6: [file(GiB)] });
    const options = resolveCompactionOptions({ compactionStyle: 'universal' });
    expect(levelScores(input(files), options)).toEqual([{ level: 0, score: 5 / 4 }]);
    const l3 = files[3]![1]!.number;
    expect(levelScores(input(files, [l0[0]!.number, l3]), options)).toEqual([{ level: 0, score: 3 / 4 }]);
  });
});

describe('overlappingFiles', () => {
  it('closes level 0 under overlap and compares user keys only', () => {
    const a = file(1, 'a', 'b');
    const b = file(1, 'b', 'd');
    const c = file(1, 'd', 'f');
    const d = file(1, 'x', 'z');
    const files = lsm({ 0: [d, c, b, a] });
    expect(overlappingFiles(files, 0, a.smallest, a.largest).map((f) => f.number)).toEqual([c, b, a].map((f) => f.number));
    expect(overlappingFiles(files, 0, undefined, undefined)).toHaveLength(4);
    const l1 = lsm({ 1: [a, file(1, 'c', 'c'), d] });
    expect(overlappingFiles(l1, 1, b.smallest, b.largest)).toHaveLength(2);
  });
});
