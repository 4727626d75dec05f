/**
 * Leveled compaction picker (LevelDB's PickCompaction / SetupOtherInputs with RocksDB's scores,
 * dynamic level bytes and concurrency rules). Pure: see compaction-plan.ts.
 *
 * 1. Score every level (levelScores): L0 by file count, L1+ by bytes over target. Levels with a
 *    score >= 1 are tried from the highest score down; the first that yields a plan wins.
 * 2. Start file. L0: the oldest L0 file, grown to every L0 file overlapping it (transitively).
 *    L1+: round-robin, the first file whose largest key is after the level's compact pointer,
 *    wrapping to the first file; a file being compacted, or one whose plan cannot be formed, is
 *    skipped for the next one.
 * 3. Output level: the base level for L0 (dynamic level bytes), level + 1 otherwise. Add the
 *    output level's overlapping files; then grow the input level to everything inside the
 *    combined range if that adds input files without adding output-level files and the inputs
 *    stay below maxCompactionBytes (SetupOtherInputs).
 * 4. Grandparents: files of outputLevel + 1 overlapping the range. Trivial move: one input file,
 *    no output-level file, grandparent overlap <= 10 × the target file size.
 * 5. Intra-L0 (RocksDB's PickIntraL0Compaction): when level 0 is due but cannot compact into the
 *    base level because that compaction is already running (or the base level's files are
 *    busy), and level 0 has piled up to trigger + 2 files, the newest level-0 files not being
 *    compacted (at least 4, in one run from the newest) merge into one level-0 file. Reads then
 *    check fewer files and the next L0 -> base compaction has fewer inputs.
 * Concurrency (the db runs several compactions at once): a plan never includes a file being
 * compacted (a start file, an output-level file or an expansion that needs one is given up), and
 * only one L0 compaction runs at a time (as RocksDB: two could land overlapping outputs in the
 * base level, or an older version of a key below a newer one). With these rules a plan's key
 * range can overlap a running compaction's output range in the same level only through a shared
 * file: the plan's range is the union of overlapping intervals (start file or L0 set, plus the
 * output-level files touching it), and any file a running compaction writes over is one it
 * reads. As a safety net the plan is still refused when its range overlaps a file being
 * compacted in its output level (RocksDB's FilesRangeOverlapWithCompaction check).
 */
import { compareInternalKeys, makeInternalKey } from '../base/internal-key.js';
import { NUM_LEVELS } from '../manifest/version.js';
import type { FileMetaData } from '../manifest/version-edit.js';
import type { CompactionOptions } from './compaction-options.js';
import {
  anyBeingCompacted, type CompactionPlan, type CompactionReason, grandparentOverlapLimit, isBottommost,
  keyRange, type LevelTargets, levelScoresWithTargets, levelTargets, overlappingFiles, type PickerInput,
  targetFileSizeForLevel, totalBytes,
} from './compaction-plan.js';

interface Ctx {
  input: PickerInput;
  options: CompactionOptions;
  targets: LevelTargets;
}

export function pickLeveledCompaction(input: PickerInput, options: CompactionOptions): CompactionPlan | undefined {
  const targets = levelTargets(input.files, options);
  const ctx: Ctx = { input, options: { ...options, compactionStyle: 'leveled' }, targets };
  const scores = levelScoresWithTargets(input, ctx.options, targets)
    .filter((s) => s.score >= 1)
    .sort((a, b) => b.score - a.score || a.level - b.level);
  for (const { level, score } of scores) {
    const plan = level === 0 ? pickLevel0(ctx, score) ?? pickIntraLevel0(ctx, score) : pickLevel(ctx, level, score);
    if (plan !== undefined) return plan;
  }
  return undefined;
}

/** Fewest level-0 files an intra-L0 compaction merges (RocksDB's kMinFilesForIntraL0Compaction). */
const MIN_INTRA_L0_FILES = 4;

function pickIntraLevel0(ctx: Ctx, score: number): CompactionPlan | undefined {
  const { files, beingCompacted } = ctx.input;
  const l0 = files[0] ?? [];
  if (l0.length < ctx.options.level0FileNumCompactionTrigger + 2) return undefined;
  // Newest first, while not being compacted: the output (a new, higher file number) then sits
  // above every older level-0 file, as its data does.
  const inputs: FileMetaData[] = [];
  let bytes = 0;
  for (const f of l0) {
    if (beingCompacted.has(f.number) || bytes + f.size > ctx.options.maxCompactionBytes) break;
    inputs.push(f);
    bytes += f.size;
  }
  if (inputs.length < MIN_INTRA_L0_FILES) return undefined;
  return {
    reason: 'intraL0',
    inputs: [{ level: 0, files: inputs }],
    outputLevel: 0,
    trivialMove: false,
    grandparents: [],
    maxOutputFileBytes: Number.MAX_SAFE_INTEGER,
    maxGrandparentOverlapBytes: Number.MAX_SAFE_INTEGER,
    bottommost: false,
    score,
  };
}

/**
 * compactRange for one level: every file of `level` overlapping [begin, end] (user keys;
 * undefined = unbounded) into the next level (the base level for L0), grown as an automatic
 * compaction is, never a trivial move (the point is to rewrite). The db calls it level by level,
 * from 0 to NUM_LEVELS - 1; for the last level the plan rewrites its overlapping files in place
 * (RocksDB's BottommostLevelCompaction::kForce), which drops what no snapshot needs any more.
 * Returns undefined when no file of the level is in the range, and also when a file it needs is
 * being compacted (or, for L0, any L0 compaction runs): the caller then waits for running
 * compactions and calls again. Universal databases use pickUniversalManualCompaction.
 */
export function pickManualCompaction(
  input: PickerInput,
  options: CompactionOptions,
  level: number,
  begin?: Uint8Array,
  end?: Uint8Array,
): CompactionPlan | undefined {
  if (!Number.isInteger(level) || level < 0 || level >= NUM_LEVELS) {
    throw new RangeError(`manual compaction level must be an integer in [0, ${NUM_LEVELS - 1}], got ${level}`);
  }
  const targets = levelTargets(input.files, options);
  const ctx: Ctx = { input, options: { ...options, compactionStyle: 'leveled' }, targets };
  // Overlap is decided by user key, so any trailer will do.
  const lo = begin === undefined ? undefined : makeInternalKey(begin, 0, 0);
  const hi = end === undefined ? undefined : makeInternalKey(end, 0, 0);
  const files = overlappingFiles(input.files, level, lo, hi);
  if (files.length === 0) return undefined;
  if (level === 0 && anyBeingCompacted(input.files[0] ?? [], input.beingCompacted)) return undefined;
  if (anyBeingCompacted(files, input.beingCompacted)) return undefined;
  if (level === NUM_LEVELS - 1) return rewriteInPlace(ctx, level, files);
  const outputLevel = level === 0 ? targets.baseLevel : level + 1;
  return setupOtherInputs(ctx, level, files, outputLevel, 'manual', 0, true);
}

/** The last level's files rewritten into the same level: nothing lies below, so it is bottommost. */
function rewriteInPlace(ctx: Ctx, level: number, files: FileMetaData[]): CompactionPlan {
  const maxOutputFileBytes = targetFileSizeForLevel(ctx.options, level, ctx.targets.baseLevel);
  return {
    reason: 'manual',
    inputs: [{ level, files }],
    outputLevel: level,
    trivialMove: false,
    grandparents: [],
    maxOutputFileBytes,
    maxGrandparentOverlapBytes: grandparentOverlapLimit(maxOutputFileBytes),
    bottommost: true,
    score: 0,
  };
}

function pickLevel0(ctx: Ctx, score: number): CompactionPlan | undefined {
  const { files, beingCompacted } = ctx.input;
  const l0 = files[0] ?? [];
  if (l0.length === 0 || anyBeingCompacted(l0, beingCompacted)) return undefined;
  const oldest = l0[l0.length - 1]!;
  const inputs0 = overlappingFiles(files, 0, oldest.smallest, oldest.largest);
  return setupOtherInputs(ctx, 0, inputs0, ctx.targets.baseLevel, 'level0FileCount', score, false);
}

function pickLevel(ctx: Ctx, level: number, score: number): CompactionPlan | undefined {
  const { files, beingCompacted, compactPointers } = ctx.input;
  const levelFiles = files[level] ?? [];
  const n = levelFiles.length;
  if (n === 0) return undefined;
  let start = 0;
  const pointer = compactPointers.get(level);
  if (pointer !== undefined) {
    while (start < n && compareInternalKeys(levelFiles[start]!.largest, pointer) <= 0) start++;
    if (start === n) start = 0; // wrap around to the beginning of the key space
  }
  for (let k = 0; k < n; k++) {
    const f = levelFiles[(start + k) % n]!;
    if (beingCompacted.has(f.number)) continue;
    const plan = setupOtherInputs(ctx, level, [f], level + 1, 'levelSize', score, false);
    if (plan !== undefined) return plan;
  }
  return undefined;
}

/** Whether [smallest, largest] overlaps a file of `level` that a running compaction reads. */
function rangeConflicts(ctx: Ctx, level: number, smallest: Uint8Array, largest: Uint8Array): boolean {
  const { files, beingCompacted } = ctx.input;
  if (beingCompacted.size === 0) return false;
  return anyBeingCompacted(overlappingFiles(files, level, smallest, largest), beingCompacted);
}

function setupOtherInputs(
  ctx: Ctx,
  level: number,
  startInputs: FileMetaData[],
  outputLevel: number,
  reason: CompactionReason,
  score: number,
  manual: boolean,
): CompactionPlan | undefined {
  const { input, options, targets } = ctx;
  const { files, beingCompacted } = input;
  let inputs0 = startInputs;
  if (anyBeingCompacted(inputs0, beingCompacted)) return undefined;
  let range0 = keyRange(inputs0);
  let inputs1 = overlappingFiles(files, outputLevel, range0.smallest, range0.largest);
  if (anyBeingCompacted(inputs1, beingCompacted)) return undefined;
  let all = keyRange([...inputs0, ...inputs1]);

  // See whether the input level can grow without pulling in more output-level files.
  if (inputs1.length > 0) {
    const expanded0 = overlappingFiles(files, level, all.smallest, all.largest);
    if (
      expanded0.length > inputs0.length &&
      totalBytes(inputs1) + totalBytes(expanded0) < options.maxCompactionBytes &&
      !anyBeingCompacted(expanded0, beingCompacted)
    ) {
      const newRange = keyRange(expanded0);
      const expanded1 = overlappingFiles(files, outputLevel, newRange.smallest, newRange.largest);
      if (sameFiles(expanded1, inputs1)) {
        inputs0 = expanded0;
        range0 = newRange;
        inputs1 = expanded1;
        all = keyRange([...inputs0, ...inputs1]);
      }
    }
  }

  if (rangeConflicts(ctx, outputLevel, all.smallest, all.largest)) return undefined;

  const grandparents = outputLevel + 1 < NUM_LEVELS ? overlappingFiles(files, outputLevel + 1, all.smallest, all.largest) : [];
  const maxOutputFileBytes = targetFileSizeForLevel(options, outputLevel, targets.baseLevel);
  const maxGrandparentOverlapBytes = grandparentOverlapLimit(maxOutputFileBytes);
  const trivialMove = !manual && inputs0.length === 1 && inputs1.length === 0 && totalBytes(grandparents) <= maxGrandparentOverlapBytes;
  const inputNumbers = new Set([...inputs0, ...inputs1].map((f) => f.number));
  const bottommost = isBottommost(files, level, inputNumbers, all.smallest, all.largest);

  const inputs = [{ level, files: sortForLevel(inputs0, level) }];
  if (inputs1.length > 0) inputs.push({ level: outputLevel, files: inputs1 });
  const plan: CompactionPlan = {
    reason,
    inputs,
    outputLevel,
    trivialMove,
    grandparents,
    maxOutputFileBytes,
    maxGrandparentOverlapBytes,
    bottommost,
    score,
  };
  if (level >= 1) plan.compactPointer = { level, key: range0.largest };
  return plan;
}

function sameFiles(a: readonly FileMetaData[], b: readonly FileMetaData[]): boolean {
  if (a.length !== b.length) return false;
  const numbers = new Set(b.map((f) => f.number));
  return a.every((f) => numbers.has(f.number));
}

/** Level 0 inputs newest first (the version's order), others by key. */
function sortForLevel(files: FileMetaData[], level: number): FileMetaData[] {
  if (level === 0) return files; // overlappingFiles keeps the version's order
  return [...files].sort((a, b) => compareInternalKeys(a.smallest, b.smallest));
}
