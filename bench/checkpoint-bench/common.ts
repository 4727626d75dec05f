/**
 * What the checkpoint benchmark's modules share (bench/checkpoint-bench.ts and
 * bench/checkpoint-bench/*): the codec, mode and style names, the result types that make up
 * results.json (ConfigResult and its parts), the workload spec and parameters a run gets, and a few
 * small helpers (tick, median, p50).
 */
import type { CompressionName, DatabaseOptions, DatabaseStats } from '../../src/index.js';

export const MiB = 1024 * 1024;
export const ALL_CODECS: CompressionName[] = ['none', 'snappy', 'lz4', 'zstd'];
export const ALL_MODES = ['incremental', 'full'] as const;
export const ALL_STYLES = ['leveled', 'universal'] as const;
export type Mode = (typeof ALL_MODES)[number];
export type Style = (typeof ALL_STYLES)[number];

// ------------------------------------------------------------------------------------------
// Results: one row per checkpoint, one ConfigResult per codec × style × mode

export interface IntervalRow {
  interval: number;
  rawBytes: number;
  changedRawBytes: number;
  uploadedBytes: number;
  referencedBytes: number;
  /** Bytes of the checkpoint's metadata object (not in uploadedBytes). */
  metadataBytes: number;
  /**
   * Bytes of the live tables of this pin that were not in the previous checkpoint's pin: tables
   * created since the previous completed checkpoint, the physical minimum of an incremental upload.
   */
  newTableBytes: number;
  newFiles: number;
  reusedFiles: number;
  /** Pinning (freeze, wait for the flush) plus this mode's own checkpoint time. */
  durationMs: number;
  /** Pinning alone (shared by both modes). */
  pinMs: number;
  writerBlockedMs: number;
  /** Level-0 tables in the pinned version: flushes compaction had not yet merged down. */
  l0Files: number;
}

export interface RestoreTiming {
  bytes: number;
  files: number;
  /** Medians over the rounds, MiB/s. */
  restoreMiBps: number;
  copyMiBps: number;
  copySyncMiBps: number;
  /** CPU time of this process (all threads, user + system) per operation, medians, ms: restore does more work than a copy. */
  cpuMs: { restore: number; copy: number; copySync: number };
  /** Per round: restore, copy, copy + fsync, MiB/s. */
  rounds: { restore: number; copy: number; copySync: number }[];
}

export interface ConfigResult {
  codec: CompressionName;
  mode: Mode;
  style: Style;
  /** S_o: the model's live key + value bytes after the last interval. */
  rawBytes: number;
  /**
   * S_c: bytes of the live tables once the state of the last checkpoint is fully compacted
   * (compactRange after it): the live data with no obsolete versions or tombstones left.
   */
  compressedBytes: number;
  /** The codec's ratio: S_o / S_c. */
  ratio: number;
  /**
   * C₀ = S_o / S at the initial checkpoint. The build only inserts, so nothing in S is obsolete,
   * but its tables are flushed or partly compacted rather than bottommost, so C₀ is not quite the
   * codec's ratio.
   */
  initialRatio: number;
  /** S at the last checkpoint / S_c: what the live tables held beyond the fully compacted data. */
  spaceAmp: number;
  /** Space amplification at each checkpoint (index = interval); see spaceAmpAt(). */
  spaceAmpByCheckpoint: number[];
  /** interval 0 is the checkpoint of the initial state; 1..n the intervals. */
  checkpoints: IntervalRow[];
  meanUploaded: number;
  meanReferenced: number;
  totalUploaded: number;
  totalMetadata: number;
  /** Sum over intervals 1..n of newTableBytes: the physical minimum of all incremental uploads. */
  totalNewTables: number;
  checkpointP50Ms: number;
  writerBlockedMaxMs: number;
  restore: {
    /** Keys compared one by one with the model (0: only the structural and sampled checks ran). */
    keys: number;
    mismatches: number;
    /** Structural and sampled checks that failed (checkRestored). */
    problems: string[];
    sampledGets: number;
    bytes: number;
    /** Restore, open and all checks. */
    verifyMs: number;
    timing?: RestoreTiming;
  };
  flushes: number;
  /** The database's compaction counters at the last checkpoint (before the full compaction). */
  compactions: DatabaseStats['compaction'];
  /** Memtable stalls (maxWriteBufferNumber) at the last checkpoint. */
  memtableStalls: DatabaseStats['stalls'];
  keepUp: KeepUp;
  /** Tables per level in the last checkpoint's version (L0 first). */
  levelFiles: number[];
  /** Wall time of the whole codec × style workload (shared by its modes). */
  wallMs: number;
  phaseMs: PhaseMs;
}

/**
 * Where a workload's wall time went: open + Checkpointer.open, waiting for the generator,
 * applying, checkpointing, restore checks, the full compaction after them (it first waits for
 * the compaction still running), close.
 */
export interface PhaseMs {
  setup: number;
  wait: number;
  build: number;
  intervals: number;
  checkpoints: number;
  verify: number;
  fullCompaction: number;
  close: number;
}

/**
 * Did compaction keep up with the writes? Derived from the counters at the last checkpoint (the
 * full compaction after it is not counted) and from level-0 counts seen during the run.
 */
export interface KeepUp {
  /** Compaction jobs that rewrote tables, and trivial moves (a table moved down a level, no I/O). */
  compactions: number;
  trivialMoves: number;
  bytesRead: number;
  bytesWritten: number;
  /** Wall time of the finished compaction jobs on their threads, summed. */
  jobSeconds: number;
  /** bytesRead / job time: how fast one compaction thread consumes input, MiB/s. */
  inputMiBpsPerThread: number;
  /** Most level-0 tables in any checkpoint's pinned version. */
  maxL0AtCheckpoints: number;
  /** Most level-0 tables seen after any write batch was applied (sampled, so at most the true maximum). */
  maxL0Seen: number;
  /** Time writers were slowed down or stopped (level 0, pending compaction bytes) or stalled on full memtables. */
  stallSeconds: number;
  /** The engine's estimate of the bytes compactions still had to write at the last checkpoint (leveled only; universal reports none). */
  pendingBytes: number;
}

export interface WorkloadParams {
  intervals: number;
  retain: number;
  modes: Mode[];
  dbOptions: DatabaseOptions;
}

/** One codec × style to run; `keyModes`: modes whose restore is also compared with the model key by key. */
export interface WorkloadSpec {
  codec: CompressionName;
  style: Style;
  keyModes: Mode[];
}

export interface WorkloadOutput {
  results: ConfigResult[];
  /** Directory storage per mode, kept for the restore timing at the end. */
  storeDirs: Partial<Record<Mode, string>>;
}

// ------------------------------------------------------------------------------------------
// Helpers

export const tick = (): Promise<void> => new Promise((res) => setImmediate(res));

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)]!;
}
