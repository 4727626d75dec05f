/**
 * Compaction plans and the pure helpers the pickers share (docs/compaction.md).
 *
 * A picker is a planner: it reads a version's file lists, the files already being compacted and
 * the compact pointers, and returns a CompactionPlan. It does no I/O and changes nothing; the db
 * runs the plan (src/compaction/compaction-job.ts), installs the result as a version edit, and
 * records the plan's compact pointer.
 *
 * Key ranges are compared by user key (the internal key minus its 8-byte trailer), as LevelDB's
 * GetOverlappingInputs does: two files holding different versions of one user key overlap.
 */
import { compareInternalKeys, compareUserKeysOf } from '../base/internal-key.js';
import { NUM_LEVELS, findFileIndex } from '../manifest/version.js';
import type { FileMetaData } from '../manifest/version-edit.js';
import type { CompactionOptions } from './compaction-options.js';

export type CompactionReason =
  | 'intraL0'
  | 'level0FileCount'
  | 'levelSize'
  | 'manual'
  | 'sizeAmplification'
  | 'sizeRatio'
  | 'sortedRunCount';

export interface CompactionPlan {
  reason: CompactionReason;
  /**
   * Input files by level. Leveled: the input level, then the output level when it has
   * overlapping files. Universal: one entry per level, newest first (level 0's files newest first).
   */
  inputs: { level: number; files: FileMetaData[] }[];
  outputLevel: number;
  /** Just move the single input file to outputLevel with a version edit; nothing is rewritten. */
  trivialMove: boolean;
  /** Files of outputLevel + 1 overlapping the inputs, where outputs are cut (LevelDB's grandparents). */
  grandparents: FileMetaData[];
  /** Cut an output file once it reaches this many bytes. */
  maxOutputFileBytes: number;
  /** Cut an output file once it overlaps this many grandparent bytes (10 × the target file size, as LevelDB). */
  maxGrandparentOverlapBytes: number;
  /**
   * No data older than the inputs exists below the output level in the inputs' key range:
   * deletion tombstones (and the values they hide) may be dropped.
   */
  bottommost: boolean;
  /** Where the next size compaction of this level starts (LevelDB's compact pointer); record it at once. */
  compactPointer?: { level: number; key: Uint8Array };
  /** Score of the level (leveled) or of the sorted runs (universal) that triggered the plan; 0 for manual. */
  score: number;
}

export interface PickerInput {
  /** version.files: level 0 newest first, levels >= 1 sorted by smallest key and disjoint. */
  files: readonly (readonly FileMetaData[])[];
  /** File numbers that running compactions read. */
  beingCompacted: ReadonlySet<number>;
  /** Level -> internal key: the largest key of the level's last size compaction. */
  compactPointers: ReadonlyMap<number, Uint8Array>;
}

export interface LevelTargets {
  /** Level that L0 compacts into: 1 with static level bytes, the first level that needs data with dynamic. */
  baseLevel: number;
  /**
   * Target bytes per level (NUM_LEVELS entries). Entry 0 is maxBytesForLevelBase (L0 is scored by
   * file count); levels between 1 and baseLevel - 1 (empty by construction) get
   * Number.MAX_SAFE_INTEGER, so they are never compacted by size.
   */
  targetBytes: number[];
}

// ---------------------------------------------------------------------------------------------
// Shared helpers (used by both pickers, the simulator and tests)

export function totalBytes(files: readonly FileMetaData[]): number {
  let n = 0;
  for (const f of files) n += f.size;
  return n;
}

/** Smallest and largest internal keys over `files` (non-empty). */
export function keyRange(files: readonly FileMetaData[]): { smallest: Uint8Array; largest: Uint8Array } {
  let smallest = files[0]!.smallest;
  let largest = files[0]!.largest;
  for (const f of files) {
    if (compareInternalKeys(f.smallest, smallest) < 0) smallest = f.smallest;
    if (compareInternalKeys(f.largest, largest) > 0) largest = f.largest;
  }
  return { smallest, largest };
}

/** Whether `f`'s user-key range intersects [smallest, largest] (internal keys; undefined = unbounded). */
export function fileOverlaps(f: FileMetaData, smallest: Uint8Array | undefined, largest: Uint8Array | undefined): boolean {
  if (smallest !== undefined && compareUserKeysOf(f.largest, smallest) < 0) return false;
  if (largest !== undefined && compareUserKeysOf(f.smallest, largest) > 0) return false;
  return true;
}

/**
 * Files of `level` overlapping [smallest, largest] (internal keys compared by user key;
 * undefined = unbounded). For level 0 the range grows to cover every file picked and the search
 * restarts, so the result is closed under overlap (LevelDB's GetOverlappingInputs): no level-0
 * file outside the result overlaps a file inside it, so an older version of a key can never be
 * left above a newer one.
 */
export function overlappingFiles(
  files: readonly (readonly FileMetaData[])[],
  level: number,
  smallest: Uint8Array | undefined,
  largest: Uint8Array | undefined,
): FileMetaData[] {
  const levelFiles = files[level] ?? [];
  if (level !== 0) {
    // Sorted and disjoint: binary-search the first file ending at or after `smallest`.
    let i = firstFileEndingAtOrAfter(levelFiles, smallest);
    const out: FileMetaData[] = [];
    for (; i < levelFiles.length; i++) {
      const f = levelFiles[i]!;
      if (largest !== undefined && compareUserKeysOf(f.smallest, largest) > 0) break;
      out.push(f);
    }
    return out;
  }
  let lo = smallest;
  let hi = largest;
  for (;;) {
    const picked: FileMetaData[] = [];
    let grew = false;
    for (const f of levelFiles) {
      if (!fileOverlaps(f, lo, hi)) continue;
      picked.push(f);
      if (lo !== undefined && compareUserKeysOf(f.smallest, lo) < 0) {
        lo = f.smallest;
        grew = true;
      }
      if (hi !== undefined && compareUserKeysOf(f.largest, hi) > 0) {
        hi = f.largest;
        grew = true;
      }
    }
    if (!grew) return picked;
  }
}

/** Index of the first file of a sorted, disjoint level whose largest user key >= `key`'s. */
function firstFileEndingAtOrAfter(levelFiles: readonly FileMetaData[], key: Uint8Array | undefined): number {
  return key === undefined ? 0 : findFileIndex(levelFiles, key, compareUserKeysOf);
}

export function anyBeingCompacted(files: readonly FileMetaData[], beingCompacted: ReadonlySet<number>): boolean {
  for (const f of files) if (beingCompacted.has(f.number)) return true;
  return false;
}

function levelBytesNotCompacting(files: readonly FileMetaData[], beingCompacted: ReadonlySet<number>): number {
  let n = 0;
  if (beingCompacted.size === 0) {
    for (const f of files) n += f.size;
  } else {
    for (const f of files) if (!beingCompacted.has(f.number)) n += f.size;
  }
  return n;
}

/**
 * Output file size for `level`: targetFileSizeBase × targetFileSizeMultiplier^(level - first),
 * where `first` is the base level with dynamic level bytes (RocksDB's MaxFileSizeForLevel) and 1
 * otherwise. Universal's level 0 is unlimited (one output file), as RocksDB.
 */
export function targetFileSizeForLevel(options: CompactionOptions, level: number, baseLevel = 1): number {
  if (level === 0 && options.compactionStyle === 'universal') return Number.MAX_SAFE_INTEGER;
  const first = options.compactionStyle === 'leveled' && options.levelCompactionDynamicLevelBytes ? baseLevel : 1;
  const steps = Math.max(0, level - first);
  return Math.min(Number.MAX_SAFE_INTEGER, options.targetFileSizeBase * options.targetFileSizeMultiplier ** steps);
}

/** 10 × the output file size, capped (LevelDB's kMaxGrandParentOverlapBytes). */
export function grandparentOverlapLimit(maxOutputFileBytes: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, maxOutputFileBytes * 10);
}

// ---------------------------------------------------------------------------------------------
// Level targets, scores, pending bytes

/**
 * Target size per level. Static (levelCompactionDynamicLevelBytes false, and always for
 * universal): L1 = maxBytesForLevelBase, Ln = L(n-1) × multiplier, base level 1.
 *
 * Dynamic (RocksDB's CalculateBaseBytes): the largest level >= 1 is taken as the last level's
 * size; dividing by the multiplier level by level upwards gives each level's target, and the base
 * level is the deepest level, at or above the first non-empty one, whose target is at most
 * maxBytesForLevelBase (L1 when even L1 would be larger). With no data below L0 the base level
 * is the last level. When even the first non-empty level comes out below maxBytesForLevelBase /
 * multiplier there are more levels than needed: that level becomes the base level with target
 * maxBytesForLevelBase / multiplier + 1. No target below the base level is smaller than
 * maxBytesForLevelBase (RocksDB: keeps the tree from taking an hourglass shape).
 */
export function levelTargets(files: readonly (readonly FileMetaData[])[], options: CompactionOptions): LevelTargets {
  const base = options.maxBytesForLevelBase;
  const mult = options.maxBytesForLevelMultiplier;
  const targetBytes = new Array<number>(NUM_LEVELS).fill(Number.MAX_SAFE_INTEGER);
  targetBytes[0] = base;

  if (options.compactionStyle !== 'leveled' || !options.levelCompactionDynamicLevelBytes) {
    let size = base;
    for (let level = 1; level < NUM_LEVELS; level++) {
      if (level > 1) size = Math.min(Number.MAX_SAFE_INTEGER, size * mult);
      targetBytes[level] = size;
    }
    return { baseLevel: 1, targetBytes };
  }

  let maxLevelSize = 0;
  let firstNonEmpty = -1;
  for (let level = 1; level < NUM_LEVELS; level++) {
    const size = totalBytes(files[level] ?? []);
    if (size > 0 && firstNonEmpty === -1) firstNonEmpty = level;
    if (size > maxLevelSize) maxLevelSize = size;
  }
  if (maxLevelSize === 0) return { baseLevel: NUM_LEVELS - 1, targetBytes };

  const baseBytesMax = base;
  const baseBytesMin = Math.floor(base / mult);
  let curLevelSize = maxLevelSize;
  for (let level = NUM_LEVELS - 2; level >= firstNonEmpty; level--) curLevelSize = Math.floor(curLevelSize / mult);

  let baseLevel: number;
  let baseLevelSize: number;
  if (curLevelSize <= baseBytesMin) {
    baseLevel = firstNonEmpty;
    baseLevelSize = baseBytesMin + 1;
  } else {
    baseLevel = firstNonEmpty;
    while (baseLevel > 1 && curLevelSize > baseBytesMax) {
      baseLevel--;
      curLevelSize = Math.floor(curLevelSize / mult);
    }
    baseLevelSize = curLevelSize > baseBytesMax ? baseBytesMax : Math.max(1, curLevelSize);
  }
  let levelSize = baseLevelSize;
  for (let level = baseLevel; level < NUM_LEVELS; level++) {
    if (level > baseLevel) levelSize = Math.min(Number.MAX_SAFE_INTEGER, levelSize * mult);
    targetBytes[level] = Math.max(Math.floor(levelSize), baseBytesMax);
  }
  return { baseLevel, targetBytes };
}

/** Scores with precomputed targets; see levelScores. */
export function levelScoresWithTargets(
  input: PickerInput,
  options: CompactionOptions,
  targets: LevelTargets,
): { level: number; score: number }[] {
  const trigger = options.level0FileNumCompactionTrigger;
  if (options.compactionStyle === 'universal') {
    let runs = 0;
    for (const f of input.files[0] ?? []) if (!input.beingCompacted.has(f.number)) runs++;
    for (let level = 1; level < NUM_LEVELS; level++) {
      const files = input.files[level] ?? [];
      if (files.length > 0 && !anyBeingCompacted(files, input.beingCompacted)) runs++;
    }
    return [{ level: 0, score: runs / trigger }];
  }
  const out: { level: number; score: number }[] = [];
  let l0 = 0;
  for (const f of input.files[0] ?? []) if (!input.beingCompacted.has(f.number)) l0++;
  out.push({ level: 0, score: l0 / trigger });
  for (let level = 1; level < NUM_LEVELS - 1; level++) {
    const bytes = levelBytesNotCompacting(input.files[level] ?? [], input.beingCompacted);
    out.push({ level, score: bytes / targets.targetBytes[level]! });
  }
  return out;
}

/**
 * Compaction scores in level order. Leveled: level 0 = files not being compacted /
 * level0FileNumCompactionTrigger; levels 1 .. NUM_LEVELS - 2 = bytes not being compacted /
 * target bytes (the last level has no level to compact into and no score). Universal: one entry,
 * level 0 = sorted runs not being compacted / level0FileNumCompactionTrigger. A score >= 1 means
 * the level needs compaction.
 */
export function levelScores(input: PickerInput, options: CompactionOptions): { level: number; score: number }[] {
  return levelScoresWithTargets(input, options, levelTargets(input.files, options));
}

/**
 * RocksDB's estimate of the bytes compactions must still write before every level is within its
 * target (VersionStorageInfo::EstimateCompactionBytesNeeded), used for the soft and hard pending
 * compaction byte limits. Level 0 counts when it reaches its file trigger or maxBytesForLevelBase;
 * its bytes then flow into the base level, and each level's excess over its target flows into the
 * next, weighted by the fan-out (next level size / level size + 1). Leveled only: universal
 * returns 0, as RocksDB (its stalls come from the sorted-run count).
 */
export function pendingCompactionBytes(input: PickerInput, options: CompactionOptions): number {
  if (options.compactionStyle !== 'leveled') return 0;
  const { baseLevel, targetBytes } = levelTargets(input.files, options);
  const l0 = input.files[0] ?? [];
  const l0Size = totalBytes(l0);
  let pending = 0;
  let toNext = 0;
  const l0Triggered = l0.length >= options.level0FileNumCompactionTrigger || l0Size >= options.maxBytesForLevelBase;
  if (l0Triggered) {
    pending = l0Size;
    toNext = l0Size;
  }
  for (let level = baseLevel; level <= NUM_LEVELS - 2; level++) {
    let levelSize = totalBytes(input.files[level] ?? []);
    if (level === baseLevel && l0Triggered) pending += levelSize;
    levelSize += toNext;
    toNext = 0;
    const target = targetBytes[level]!;
    if (levelSize > target) {
      toNext = levelSize - target;
      const nextSize = totalBytes(input.files[level + 1] ?? []);
      if (nextSize > 0) pending += Math.floor(toNext * (nextSize / levelSize + 1));
    }
  }
  return pending;
}

/**
 * Whether no file of the levels below `inputLevel`, other than the plan's inputs, overlaps
 * [smallest, largest]: then nothing older than the inputs exists in that key range.
 */
export function isBottommost(
  files: readonly (readonly FileMetaData[])[],
  inputLevel: number,
  inputNumbers: ReadonlySet<number>,
  smallest: Uint8Array,
  largest: Uint8Array,
): boolean {
  for (let level = inputLevel + 1; level < files.length; level++) {
    for (const f of overlappingFiles(files, level, smallest, largest)) {
      if (!inputNumbers.has(f.number)) return false;
    }
  }
  return true;
}

/** One-line description for logs: `levelSize L2->L3 files 7+3 (640 MiB) score 1.32`. */
export function describePlan(plan: CompactionPlan): string {
  const levels = plan.inputs.map((i) => `L${i.level}`).join('+');
  let files = 0;
  let bytes = 0;
  for (const i of plan.inputs) {
    files += i.files.length;
    bytes += totalBytes(i.files);
  }
  const kind = plan.trivialMove ? ' trivial move' : '';
  return `${plan.reason}${kind} ${levels}->L${plan.outputLevel} files ${files} (${(bytes / 1048576).toFixed(1)} MiB) score ${plan.score.toFixed(2)}`;
}
