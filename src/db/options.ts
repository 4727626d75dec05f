/**
 * Database options: RocksDB's names in camelCase, so a RocksDB user recognises them.
 * Validation throws TypeError for a wrong type and RangeError for a value out of range.
 */
import { type CompactionOptions, resolveCompactionOptions } from '../compaction/compaction-options.js';
import {
  type CompactionFilterOption, type MergeOperatorOption, checkCompactionFilter, checkMergeOperator, isUserFunctionSpec,
} from '../compaction/merge-operator.js';
import { availableParallelism } from 'node:os';
import type { FileSystem } from '../fs/file-system.js';
import { nodeFileSystem } from '../fs/node-fs.js';
import type { RecoveryMode } from '../record/log-reader.js';
import { COMPRESSION_NAMES, type CompressionName } from '../sstable/compression.js';

/** When WAL bytes reach the operating system (docs/architecture.md, "WAL durability"). */
export type WalFlushPolicy = 'eventLoopTurn' | 'everyWrite';

export interface DatabaseOptions extends Partial<CompactionOptions> {
  /** Resolves merge operands (db.merge, ListState appends). A spec runs in worker threads. */
  mergeOperator?: MergeOperatorOption;
  /** Sees values during compaction: keep, remove or change them (TTL cleanup). */
  compactionFilter?: CompactionFilterOption;
  /**
   * Background jobs at once, counting the flush job: one flush, the rest compactions (each on its
   * own worker thread). Default: the machine's cores (os.availableParallelism()), at least 2.
   */
  maxBackgroundJobs?: number;
  /**
   * Most key ranges one compaction is split into, each run as its own job on an idle compaction
   * worker (RocksDB's max_subcompactions). Default: the number of compaction workers.
   */
  maxSubcompactions?: number;
  /** Turns automatic compactions off (compactRange still works). Default false. */
  disableAutoCompactions?: boolean;
  /** Create the database when the directory holds none. Default true. */
  createIfMissing?: boolean;
  /** Fail when a database already exists. Default false. */
  errorIfExists?: boolean;
  /** Write-ahead log. Off is Flink's mode: durability then comes from checkpoints. Default true. */
  wal?: boolean;
  /** How WAL damage is handled on open. Default 'tolerateCorruptedTailRecords'. */
  walRecoveryMode?: RecoveryMode;
  /** Default 'eventLoopTurn'. */
  walFlushPolicy?: WalFlushPolicy;
  /** Bytes of the user-space WAL buffer. Default 256 KiB. */
  walBufferSize?: number;
  /** Memtable size before it is frozen and flushed. Default 64 MiB. */
  writeBufferSize?: number;
  /** Memtables (mutable + immutable) before writes stall for a flush. Default 2. */
  maxWriteBufferNumber?: number;
  /** Uncompressed data block size target. Default 4096. */
  blockSize?: number;
  /** Keys between restart points in data blocks. Default 16. */
  blockRestartInterval?: number;
  /** Bloom filter bits per key; 0 disables filters. Default 10. */
  bloomBitsPerKey?: number;
  /** Block compression. Default 'lz4' (portable: no native code). */
  compression?: CompressionName;
  /** Compression per level, overriding `compression` where given. */
  compressionPerLevel?: CompressionName[];
  /** Compression for the bottommost level (compaction issue). */
  bottommostCompression?: CompressionName;
  /** Bytes of the shared uncompressed block cache. Default 32 MiB. */
  blockCacheSize?: number;
  /** Table files kept open. Default 5000. */
  maxOpenFiles?: number;
  /** File system to use; the in-memory one makes crash tests possible. Default: Node's. */
  fileSystem?: FileSystem;
  /** Run flushes on a worker thread ('worker') or the main thread after each turn ('inline'). Default: worker when the file system allows. */
  backgroundMode?: 'worker' | 'inline';
}

export interface ResolvedOptions {
  compaction: CompactionOptions;
  mergeOperator: MergeOperatorOption | undefined;
  compactionFilter: CompactionFilterOption | undefined;
  maxBackgroundJobs: number;
  maxSubcompactions: number;
  disableAutoCompactions: boolean;
  createIfMissing: boolean;
  errorIfExists: boolean;
  wal: boolean;
  walRecoveryMode: RecoveryMode;
  walFlushPolicy: WalFlushPolicy;
  walBufferSize: number;
  writeBufferSize: number;
  maxWriteBufferNumber: number;
  blockSize: number;
  blockRestartInterval: number;
  bloomBitsPerKey: number;
  compression: CompressionName;
  compressionPerLevel: CompressionName[] | undefined;
  bottommostCompression: CompressionName | undefined;
  blockCacheSize: number;
  maxOpenFiles: number;
  fileSystem: FileSystem;
  backgroundMode: 'worker' | 'inline';
}

const RECOVERY_MODES: readonly RecoveryMode[] = ['tolerateCorruptedTailRecords', 'absoluteConsistency', 'pointInTime', 'skipAnyCorruptedRecords'];

function bool(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`option ${name} must be a boolean`);
  return v;
}

function int(name: string, v: unknown, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`option ${name} must be an integer`);
  if (v < min || v > max) throw new RangeError(`option ${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[], dflt: T): T;
function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[], dflt: undefined): T | undefined;
function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[], dflt: T | undefined): T | undefined {
  if (v === undefined) return dflt;
  if (typeof v !== 'string') throw new TypeError(`option ${name} must be a string`);
  if (!allowed.includes(v as T)) throw new RangeError(`option ${name} must be one of ${allowed.join(', ')}, got ${v}`);
  return v as T;
}

export function resolveOptions(options: DatabaseOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const fileSystem = options.fileSystem ?? nodeFileSystem;
  const perLevel = options.compressionPerLevel;
  if (perLevel !== undefined && !Array.isArray(perLevel)) throw new TypeError('option compressionPerLevel must be an array');
  const backgroundDefault = fileSystem.sharedWithWorkers ? 'worker' : 'inline';
  const backgroundMode = oneOf('backgroundMode', options.backgroundMode, ['worker', 'inline'] as const, backgroundDefault);
  if (backgroundMode === 'worker' && !fileSystem.sharedWithWorkers) {
    throw new RangeError('backgroundMode "worker" needs a file system that worker threads can reach');
  }
  if (options.mergeOperator !== undefined && !isUserFunctionSpec(options.mergeOperator)) checkMergeOperator(options.mergeOperator);
  if (options.compactionFilter !== undefined && !isUserFunctionSpec(options.compactionFilter)) checkCompactionFilter(options.compactionFilter);
  const maxBackgroundJobs = int('maxBackgroundJobs', options.maxBackgroundJobs, Math.min(64, Math.max(2, availableParallelism())), 2, 64);
  return {
    compaction: resolveCompactionOptions(pickCompactionOptions(options)),
    mergeOperator: options.mergeOperator,
    compactionFilter: options.compactionFilter,
    maxBackgroundJobs,
    maxSubcompactions: int('maxSubcompactions', options.maxSubcompactions, maxBackgroundJobs - 1, 1, 64),
    disableAutoCompactions: bool('disableAutoCompactions', options.disableAutoCompactions, false),
    createIfMissing: bool('createIfMissing', options.createIfMissing, true),
    errorIfExists: bool('errorIfExists', options.errorIfExists, false),
    wal: bool('wal', options.wal, true),
    walRecoveryMode: oneOf('walRecoveryMode', options.walRecoveryMode, RECOVERY_MODES, 'tolerateCorruptedTailRecords'),
    walFlushPolicy: oneOf('walFlushPolicy', options.walFlushPolicy, ['eventLoopTurn', 'everyWrite'] as const, 'eventLoopTurn'),
    walBufferSize: int('walBufferSize', options.walBufferSize, 256 * 1024, 4096),
    writeBufferSize: int('writeBufferSize', options.writeBufferSize, 64 * 1024 * 1024, 4096, 1024 * 1024 * 1024),
    maxWriteBufferNumber: int('maxWriteBufferNumber', options.maxWriteBufferNumber, 2, 2, 64),
    blockSize: int('blockSize', options.blockSize, 4096, 256, 64 * 1024 * 1024),
    blockRestartInterval: int('blockRestartInterval', options.blockRestartInterval, 16, 1, 1 << 16),
    bloomBitsPerKey: int('bloomBitsPerKey', options.bloomBitsPerKey, 10, 0, 64),
    compression: oneOf('compression', options.compression, COMPRESSION_NAMES, 'lz4'),
    compressionPerLevel: perLevel?.map((c, i) => oneOf(`compressionPerLevel[${i}]`, c, COMPRESSION_NAMES, 'none')),
    bottommostCompression: oneOf('bottommostCompression', options.bottommostCompression, COMPRESSION_NAMES, undefined),
    blockCacheSize: int('blockCacheSize', options.blockCacheSize, 32 * 1024 * 1024, 0),
    maxOpenFiles: int('maxOpenFiles', options.maxOpenFiles, 5000, 16),
    fileSystem,
    backgroundMode,
  };
}

const COMPACTION_OPTION_NAMES = [
  'compactionStyle', 'level0FileNumCompactionTrigger', 'level0SlowdownWritesTrigger', 'level0StopWritesTrigger',
  'maxBytesForLevelBase', 'maxBytesForLevelMultiplier', 'levelCompactionDynamicLevelBytes', 'targetFileSizeBase',
  'targetFileSizeMultiplier', 'maxCompactionBytes', 'softPendingCompactionBytesLimit', 'hardPendingCompactionBytesLimit',
  'maxSizeAmplificationPercent', 'sizeRatio', 'minMergeWidth', 'maxMergeWidth', 'compactionReadaheadSize',
] as const;

function pickCompactionOptions(options: DatabaseOptions): Partial<CompactionOptions> {
  const out: Record<string, unknown> = {};
  for (const name of COMPACTION_OPTION_NAMES) if (options[name] !== undefined) out[name] = options[name];
  return out as Partial<CompactionOptions>;
}

/**
 * Compression for tables written to `level`: bottommostCompression for the last level's data,
 * else compressionPerLevel, else compression (RocksDB's precedence).
 */
export function compressionForLevel(options: ResolvedOptions, level: number, bottommost = false): CompressionName {
  if (bottommost && options.bottommostCompression !== undefined) return options.bottommostCompression;
  return options.compressionPerLevel?.[level] ?? options.compression;
}
