/**
 * Turns the versions of one user key that a reader can see into the value it reads:
 * the newest version decides, merge operands fold onto the first value or deletion below
 * them, and a range tombstone newer than a version hides it and everything older.
 */
import { LsmError } from '../base/errors.js';
import { ValueKind } from '../base/internal-key.js';
import type { MergeOperator } from '../compaction/merge-operator.js';

export interface VisibleVersion {
  seq: number;
  kind: number;
  value: Uint8Array;
}

/**
 * Requires: `versions` newest first, each visible at the read sequence, none of kind
 * RangeDeletion. `coveringSeq` is the newest range tombstone covering the key at the read
 * sequence (0 when none).
 */
export function resolveValue(
  userKey: Uint8Array,
  versions: readonly VisibleVersion[],
  coveringSeq: number,
  mergeOperator: MergeOperator | undefined,
): Uint8Array | undefined {
  const operands: Uint8Array[] = [];
  let base: Uint8Array | undefined;
  for (const v of versions) {
    if (v.seq < coveringSeq) break;
    if (v.kind === ValueKind.Merge) {
      operands.push(v.value);
      continue;
    }
    if (v.kind === ValueKind.Value) base = v.value;
    break;
  }
  if (operands.length === 0) return base;
  if (mergeOperator === undefined) {
    throw new LsmError('LSM_NOT_SUPPORTED', 'the database holds merge operands but no mergeOperator is configured');
  }
  operands.reverse(); // oldest first
  return mergeOperator.fullMerge(userKey, base, operands);
}
