/** The database options under a keyed-state backend (shared by open and restore). */
import { MergeOperators } from '../compaction/builtin-operators.js';
import type { DatabaseOptions } from '../db/options.js';
import { ttlCompactionFilterSpec } from './ttl-compaction-filter.js';

/** Options of KeyedStateBackend that are not database options. */
const BACKEND_ONLY = [
  'dir', 'maxParallelism', 'keyGroupRange', 'keySerializer', 'checkpointStorage', 'name', 'checkpointMode', 'retainCheckpoints',
  'ttlTimeProvider', 'restoreStorage', 'handles', 'restoreMode',
];

export function backendDatabaseOptions(options: object): DatabaseOptions {
  if ('mergeOperator' in options || 'compactionFilter' in options) {
    throw new RangeError('a keyed-state backend sets mergeOperator and compactionFilter itself');
  }
  const rest: Record<string, unknown> = { ...options };
  for (const k of BACKEND_ONLY) delete rest[k];
  // Flink runs RocksDB without a WAL: durability comes from checkpoints. wal: true is allowed.
  return { wal: false, ...rest, mergeOperator: MergeOperators.concat(), compactionFilter: ttlCompactionFilterSpec({ states: [] }) };
}
