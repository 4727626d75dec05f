/**
 * Compaction options: RocksDB's names in camelCase and RocksDB's defaults, so a RocksDB user
 * recognises them (docs/compaction.md lists every option and what it does). Validation follows
 * src/db/options.ts: TypeError for a wrong type, RangeError for a value out of range.
 */

export type CompactionStyle = 'leveled' | 'universal';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface CompactionOptions {
  /** 'leveled' (LevelDB's, RocksDB's default) or 'universal' (RocksDB's tiered style). Default 'leveled'. */
  compactionStyle: CompactionStyle;
  /**
   * Leveled: L0 files that start an L0 compaction (score = files / trigger). Universal: sorted
   * runs before any compaction is considered, and the sorted-run limit. Default 4.
   */
  level0FileNumCompactionTrigger: number;
  /** L0 files (universal: sorted runs) at which writes slow down. Default 20. */
  level0SlowdownWritesTrigger: number;
  /** L0 files (universal: sorted runs) at which writes stop until a compaction finishes. Default 36. */
  level0StopWritesTrigger: number;
  /** Target size of the base level (L1, or the dynamic base level). Default 256 MiB. */
  maxBytesForLevelBase: number;
  /** Each level's target is this many times the one above it. Default 10. */
  maxBytesForLevelMultiplier: number;
  /**
   * Derive level targets from the size of the last level, so the levels keep the multiplier
   * between them, and let L0 compact into the first level that needs data (the base level).
   * Default true (RocksDB's default since 8.4).
   */
  levelCompactionDynamicLevelBytes: boolean;
  /** Output file size for the first level below L0. Default 64 MiB. */
  targetFileSizeBase: number;
  /** Each level's output file size is this many times the one above it. Default 1. */
  targetFileSizeMultiplier: number;
  /** Upper bound on the input bytes a compaction grows to when expanding. Default 25 × targetFileSizeBase. */
  maxCompactionBytes: number;
  /** Estimated pending compaction bytes at which writes slow down; 0 disables. Default 64 GiB. */
  softPendingCompactionBytesLimit: number;
  /** Estimated pending compaction bytes at which writes stop; 0 disables. Default 256 GiB. */
  hardPendingCompactionBytesLimit: number;
  /** Universal: compact everything once newer runs exceed this % of the oldest run. Default 200. */
  maxSizeAmplificationPercent: number;
  /** Universal: % of slack when comparing a run's size with the runs picked before it. Default 1. */
  sizeRatio: number;
  /** Universal: fewest sorted runs merged by a size-ratio or sorted-run-count compaction. Default 2. */
  minMergeWidth: number;
  /** Universal: most sorted runs merged by one such compaction. Default unlimited (Number.MAX_SAFE_INTEGER). */
  maxMergeWidth: number;
  /**
   * Bytes each compaction input table is read ahead by, in one read (RocksDB's
   * compaction_readahead_size). Compaction reads bypass the block cache. Default 1 MiB.
   */
  compactionReadaheadSize: number;
}

export const COMPACTION_STYLES: readonly CompactionStyle[] = ['leveled', 'universal'];

/** Defaults; maxCompactionBytes follows targetFileSizeBase (25 ×) when not given. */
export const DEFAULT_COMPACTION_OPTIONS: Readonly<CompactionOptions> = Object.freeze({
  compactionStyle: 'leveled',
  level0FileNumCompactionTrigger: 4,
  level0SlowdownWritesTrigger: 20,
  level0StopWritesTrigger: 36,
  maxBytesForLevelBase: 256 * MiB,
  maxBytesForLevelMultiplier: 10,
  levelCompactionDynamicLevelBytes: true,
  targetFileSizeBase: 64 * MiB,
  targetFileSizeMultiplier: 1,
  maxCompactionBytes: 25 * 64 * MiB,
  softPendingCompactionBytesLimit: 64 * GiB,
  hardPendingCompactionBytesLimit: 256 * GiB,
  maxSizeAmplificationPercent: 200,
  sizeRatio: 1,
  minMergeWidth: 2,
  maxMergeWidth: Number.MAX_SAFE_INTEGER,
  compactionReadaheadSize: MiB,
});

function int(name: string, v: unknown, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`option ${name} must be an integer`);
  if (v < min || v > max) throw new RangeError(`option ${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

function bool(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`option ${name} must be a boolean`);
  return v;
}

/**
 * Fills in defaults and validates. Level-0 triggers must satisfy
 * trigger <= slowdown <= stop; a trigger left at its default is raised to keep that order
 * (RocksDB sanitises the same way), one given explicitly out of order is a RangeError.
 */
export function resolveCompactionOptions(partial: Partial<CompactionOptions> = {}): CompactionOptions {
  if (typeof partial !== 'object' || partial === null) throw new TypeError('compaction options must be an object');
  const p = partial as Record<keyof CompactionOptions, unknown>;
  const d = DEFAULT_COMPACTION_OPTIONS;

  let compactionStyle: CompactionStyle = d.compactionStyle;
  if (p.compactionStyle !== undefined) {
    if (typeof p.compactionStyle !== 'string') throw new TypeError('option compactionStyle must be a string');
    if (!COMPACTION_STYLES.includes(p.compactionStyle as CompactionStyle)) {
      throw new RangeError(`option compactionStyle must be one of ${COMPACTION_STYLES.join(', ')}, got ${p.compactionStyle}`);
    }
    compactionStyle = p.compactionStyle as CompactionStyle;
  }

  const trigger = int('level0FileNumCompactionTrigger', p.level0FileNumCompactionTrigger, d.level0FileNumCompactionTrigger, 1, 1 << 20);
  const slowdown = int('level0SlowdownWritesTrigger', p.level0SlowdownWritesTrigger, Math.max(d.level0SlowdownWritesTrigger, trigger), 1, 1 << 20);
  if (slowdown < trigger) {
    throw new RangeError(`option level0SlowdownWritesTrigger (${slowdown}) must be >= level0FileNumCompactionTrigger (${trigger})`);
  }
  const stop = int('level0StopWritesTrigger', p.level0StopWritesTrigger, Math.max(d.level0StopWritesTrigger, slowdown), 1, 1 << 20);
  if (stop < slowdown) {
    throw new RangeError(`option level0StopWritesTrigger (${stop}) must be >= level0SlowdownWritesTrigger (${slowdown})`);
  }

  const maxBytesForLevelBase = int('maxBytesForLevelBase', p.maxBytesForLevelBase, d.maxBytesForLevelBase, 1);
  let multiplier = d.maxBytesForLevelMultiplier;
  if (p.maxBytesForLevelMultiplier !== undefined) {
    if (typeof p.maxBytesForLevelMultiplier !== 'number' || !Number.isFinite(p.maxBytesForLevelMultiplier)) {
      throw new TypeError('option maxBytesForLevelMultiplier must be a finite number');
    }
    if (p.maxBytesForLevelMultiplier <= 1 || p.maxBytesForLevelMultiplier > 1000) {
      throw new RangeError(`option maxBytesForLevelMultiplier must be > 1 and <= 1000, got ${p.maxBytesForLevelMultiplier}`);
    }
    multiplier = p.maxBytesForLevelMultiplier;
  }
  const targetFileSizeBase = int('targetFileSizeBase', p.targetFileSizeBase, d.targetFileSizeBase, 1);
  const targetFileSizeMultiplier = int('targetFileSizeMultiplier', p.targetFileSizeMultiplier, d.targetFileSizeMultiplier, 1, 1000);
  const maxCompactionBytes = int(
    'maxCompactionBytes', p.maxCompactionBytes, Math.min(Number.MAX_SAFE_INTEGER, 25 * targetFileSizeBase), 1,
  );
  const minMergeWidth = int('minMergeWidth', p.minMergeWidth, d.minMergeWidth, 2);
  const maxMergeWidth = int('maxMergeWidth', p.maxMergeWidth, d.maxMergeWidth, 2);
  if (maxMergeWidth < minMergeWidth) {
    throw new RangeError(`option maxMergeWidth (${maxMergeWidth}) must be >= minMergeWidth (${minMergeWidth})`);
  }

  return {
    compactionStyle,
    level0FileNumCompactionTrigger: trigger,
    level0SlowdownWritesTrigger: slowdown,
    level0StopWritesTrigger: stop,
    maxBytesForLevelBase,
    maxBytesForLevelMultiplier: multiplier,
    levelCompactionDynamicLevelBytes: bool('levelCompactionDynamicLevelBytes', p.levelCompactionDynamicLevelBytes, d.levelCompactionDynamicLevelBytes),
    targetFileSizeBase,
    targetFileSizeMultiplier,
    maxCompactionBytes,
    softPendingCompactionBytesLimit: int('softPendingCompactionBytesLimit', p.softPendingCompactionBytesLimit, d.softPendingCompactionBytesLimit, 0),
    hardPendingCompactionBytesLimit: int('hardPendingCompactionBytesLimit', p.hardPendingCompactionBytesLimit, d.hardPendingCompactionBytesLimit, 0),
    maxSizeAmplificationPercent: int('maxSizeAmplificationPercent', p.maxSizeAmplificationPercent, d.maxSizeAmplificationPercent, 0, 1_000_000),
    sizeRatio: int('sizeRatio', p.sizeRatio, d.sizeRatio, 0, 1_000_000),
    minMergeWidth,
    maxMergeWidth,
    compactionReadaheadSize: int('compactionReadaheadSize', p.compactionReadaheadSize, d.compactionReadaheadSize, 4096, 256 * MiB),
  };
}
