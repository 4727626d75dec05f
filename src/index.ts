/**
 * lsm-state public API. Everything not exported here is internal and may change.
 */
export { Database } from './db/database.js';
export type {
  DatabaseStats, IteratorOptions, LevelStats, LiveFiles, ReadOptions, WriteOptions,
} from './db/database.js';
export { DbIterator } from './db/db-iterator.js';
export type { Entry, IteratorBounds } from './db/db-iterator.js';
export type { DatabaseOptions, WalFlushPolicy } from './db/options.js';
export { Snapshot } from './db/snapshot.js';
export type { SavepointResult } from './db/savepoint.js';
export { WriteBatch } from './wal/write-batch.js';
export { MergeOperators } from './compaction/builtin-operators.js';
export type {
  CompactionFilter, CompactionFilterDecision, CompactionFilterOption, MergeOperator, MergeOperatorOption, UserFunctionSpec,
} from './compaction/merge-operator.js';
export type { CompactionOptions, CompactionStyle } from './compaction/compaction-options.js';
export type { RecoveryMode } from './record/log-reader.js';
export type { CompressionName } from './sstable/compression.js';
export {
  AssertionError, ClosedError, CorruptionError, IoError, LsmError,
} from './base/errors.js';
export type { ErrorCode, CorruptionDetails } from './base/errors.js';
export type { FileSystem, RandomAccessFile, WritableFile, FileLock } from './fs/file-system.js';
export { NodeFileSystem } from './fs/node-fs.js';
export { MemFileSystem } from './fs/mem-fs.js';
export { CheckpointStorage } from './checkpoint/storage-factory.js';
export type { StoredObject } from './checkpoint/checkpoint-storage.js';
export { DirectoryStorage } from './checkpoint/directory-storage.js';
export { Checkpointer } from './checkpoint/checkpointer.js';
export type { CheckpointOptions, CheckpointResult, CheckpointerOptions } from './checkpoint/checkpointer.js';
export { restoreCheckpoint, readCheckpointMetadata, listCheckpointIds, listCheckpointChains } from './checkpoint/restore.js';
export type { CheckpointSelector, RestoreMode, RestoreOptions, RestoreResult } from './checkpoint/restore.js';
export type { CheckpointFile, CheckpointMetadata, CheckpointMode } from './checkpoint/metadata.js';
export { CheckpointCoordinator } from './state/checkpoint-coordinator.js';
export type {
  CheckpointCoordinatorOptions, CheckpointParticipant, CompletedCheckpoint,
} from './state/checkpoint-coordinator.js';
export { KeyedStateBackend } from './state/keyed-state-backend.js';
export type {
  AggregatingStateDescriptor, KeyedStateBackendOptions, KeyedStateCheckpoint, KeyedStateCheckpointInfo, KeyedStateHandle,
  KeyedStateParticipant, KeyedStateRestoreOptions, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor,
  ValueStateDescriptor,
} from './state/keyed-state-backend.js';
export {
  AggregatingState, KeyedState, ListState, MapState, ReducingState, ValueState,
} from './state/states.js';
export type { AggregateFunction, ReduceFunction, StateKind } from './state/states.js';
export { Serializers } from './state/serializers.js';
export type { SerializedType, SerializedTypes, TypeSerializer } from './state/serializers.js';
export {
  KeyGroupRange, MAX_PARALLELISM_UPPER_BOUND, assignToKeyGroup, keyGroupRangeForOperator, murmur3_32, operatorIndexForKeyGroup,
} from './state/key-groups.js';
export type { StateTtlConfig, TtlUpdateType, TtlVisibility } from './state/ttl.js';
