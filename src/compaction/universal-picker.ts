/**
 * Universal (tiered) compaction picker, after RocksDB's UniversalCompactionBuilder. Pure: see
 * compaction-plan.ts.
 *
 * Sorted runs, newest first: each L0 file (the version's order), then each non-empty level >= 1
 * as one run. A level run counts as being compacted when any of its files is. Nothing is done
 * while there are fewer runs than level0FileNumCompactionTrigger. Then, in RocksDB's order:
 * 1. Size amplification: take the longest span of runs not being compacted that ends at the
 *    oldest run; when the newer runs of the span add up to at least maxSizeAmplificationPercent %
 *    of the oldest run, compact the span.
 * 2. Size ratio: from each start run (newest first, skipping runs being compacted) add the next
 *    older run while its size <= (accumulated size) × (100 + sizeRatio) / 100, up to
 *    maxMergeWidth runs, stopping at a run being compacted; the first span of at least
 *    minMergeWidth runs is compacted.
 * 3. Sorted-run count: with more runs not being compacted than the trigger, compact the newest
 *    (runs - trigger + 1) of them, but at least minMergeWidth and at most maxMergeWidth
 *    (RocksDB would refuse a span narrower than minMergeWidth; we widen it so the run count
 *    always comes down).
 * Output level (RocksDB): the last level when the span includes the oldest run; otherwise the
 * level just above the next older run, which is level 0 when that run is an L0 file.
 * Universal merges whole runs: no grandparents. Outputs to levels >= 1 are cut at the target file
 * size of the level (targetFileSizeBase × targetFileSizeMultiplier^(level - 1)), as RocksDB;
 * an output to level 0 is one file.
 */
import { NUM_LEVELS } from '../manifest/version.js';
import type { FileMetaData } from '../manifest/version-edit.js';
import type { CompactionOptions } from './compaction-options.js';
import {
  anyBeingCompacted, type CompactionPlan, type CompactionReason, fileOverlaps, grandparentOverlapLimit, keyRange,
  type PickerInput, targetFileSizeForLevel, totalBytes,
} from './compaction-plan.js';

export interface SortedRun {
  /** 0 for an L0 file, else the level. */
  level: number;
  files: readonly FileMetaData[];
  size: number;
  beingCompacted: boolean;
}

/** The sorted runs of a version, newest first (see the file comment). */
export function sortedRuns(files: readonly (readonly FileMetaData[])[], beingCompacted: ReadonlySet<number>): SortedRun[] {
  const runs: SortedRun[] = [];
  for (const f of files[0] ?? []) runs.push({ level: 0, files: [f], size: f.size, beingCompacted: beingCompacted.has(f.number) });
  for (let level = 1; level < files.length; level++) {
    const levelFiles = files[level] ?? [];
    if (levelFiles.length === 0) continue;
    runs.push({ level, files: levelFiles, size: totalBytes(levelFiles), beingCompacted: anyBeingCompacted(levelFiles, beingCompacted) });
  }
  return runs;
}

export function pickUniversalCompaction(input: PickerInput, options: CompactionOptions): CompactionPlan | undefined {
  const opts: CompactionOptions = { ...options, compactionStyle: 'universal' };
  const runs = sortedRuns(input.files, input.beingCompacted);
  const trigger = opts.level0FileNumCompactionTrigger;
  if (runs.length === 0 || runs.length < trigger) return undefined;
  let notCompacting = 0;
  for (const r of runs) if (!r.beingCompacted) notCompacting++;
  const score = notCompacting / trigger;

  const b = new Builder(input, opts, runs, score);
  const sizeAmp = b.sizeAmplification();
  if (sizeAmp !== undefined) return sizeAmp;
  const ratio = b.reduceSortedRuns(opts.sizeRatio, Number.MAX_SAFE_INTEGER, 'sizeRatio');
  if (ratio !== undefined) return ratio;
  if (notCompacting > trigger) {
    const width = Math.max(notCompacting - trigger + 1, opts.minMergeWidth);
    return b.reduceSortedRuns(Number.POSITIVE_INFINITY, width, 'sortedRunCount');
  }
  return undefined;
}

/**
 * compactRange for a universal database: every sorted run merged into one at the last level
 * (what RocksDB's CompactRange does in universal style). Undefined when the database is empty
 * or a file is being compacted (wait for running compactions and call again).
 */
export function pickUniversalManualCompaction(input: PickerInput, options: CompactionOptions): CompactionPlan | undefined {
  const opts: CompactionOptions = { ...options, compactionStyle: 'universal' };
  const runs = sortedRuns(input.files, input.beingCompacted);
  if (runs.length === 0 || runs.some((r) => r.beingCompacted)) return undefined;
  return new Builder(input, opts, runs, 0).plan(0, runs.length - 1, 'manual');
}

class Builder {
  constructor(
    readonly input: PickerInput,
    readonly options: CompactionOptions,
    readonly runs: SortedRun[],
    readonly score: number,
  ) {}

  sizeAmplification(): CompactionPlan | undefined {
    const runs = this.runs;
    const end = runs.length - 1;
    const oldest = runs[end]!;
    if (oldest.beingCompacted) return undefined;
    let start = end;
    let candidateSize = 0;
    while (start > 0 && !runs[start - 1]!.beingCompacted) {
      candidateSize += runs[start - 1]!.size;
      start--;
    }
    if (start === end) return undefined;
    if (candidateSize * 100 < this.options.maxSizeAmplificationPercent * oldest.size) return undefined;
    return this.plan(start, end, 'sizeAmplification');
  }

  /** RocksDB's PickCompactionToReduceSortedRuns; `ratio` is a percentage (Infinity: ignore sizes). */
  reduceSortedRuns(ratio: number, maxRuns: number, reason: CompactionReason): CompactionPlan | undefined {
    const runs = this.runs;
    const minWidth = Math.max(this.options.minMergeWidth, 2);
    const maxWidth = Math.min(this.options.maxMergeWidth, maxRuns);
    for (let start = 0; start < runs.length; start++) {
      if (runs[start]!.beingCompacted) continue;
      let count = 1;
      let candidateSize = runs[start]!.size;
      for (let i = start + 1; count < maxWidth && i < runs.length; i++) {
        const next = runs[i]!;
        if (next.beingCompacted) break;
        if (Number.isFinite(ratio) && (candidateSize * (100 + ratio)) / 100 < next.size) break;
        candidateSize += next.size;
        count++;
      }
      if (count >= minWidth) return this.plan(start, start + count - 1, reason);
    }
    return undefined;
  }

  plan(start: number, end: number, reason: CompactionReason): CompactionPlan {
    const runs = this.runs;
    const firstAfter = end + 1;
    let outputLevel: number;
    if (firstAfter === runs.length) outputLevel = NUM_LEVELS - 1;
    else if (runs[firstAfter]!.level === 0) outputLevel = 0;
    else outputLevel = runs[firstAfter]!.level - 1;

    const inputs: { level: number; files: FileMetaData[] }[] = [];
    const all: FileMetaData[] = [];
    for (let i = start; i <= end; i++) {
      const run = runs[i]!;
      const last = inputs[inputs.length - 1];
      if (last !== undefined && last.level === run.level) last.files.push(...run.files);
      else inputs.push({ level: run.level, files: [...run.files] });
      all.push(...run.files);
    }
    const range = keyRange(all);
    let bottommost = true;
    for (let i = firstAfter; i < runs.length && bottommost; i++) {
      for (const f of runs[i]!.files) {
        if (fileOverlaps(f, range.smallest, range.largest)) {
          bottommost = false;
          break;
        }
      }
    }
    const maxOutputFileBytes = targetFileSizeForLevel(this.options, outputLevel);
    return {
      reason,
      inputs,
      outputLevel,
      trivialMove: false,
      grandparents: [],
      maxOutputFileBytes,
      maxGrandparentOverlapBytes: outputLevel === 0 ? Number.MAX_SAFE_INTEGER : grandparentOverlapLimit(maxOutputFileBytes),
      bottommost,
      score: this.score,
    };
  }
}
