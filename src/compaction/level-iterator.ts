/**
 * Concatenates the tables of one sorted level (>= 1) into a single cursor, opening each table
 * only when the cursor reaches it.
 */
import { compareInternalKeys } from '../base/internal-key.js';
import type { InternalIterator } from '../base/iterator.js';
import { TwoLevelIterator } from '../base/two-level-iterator.js';
import type { FileMetaData } from '../manifest/version-edit.js';

/** Requires: `files` sorted by key and disjoint. `open` returns a cursor over one table. */
export function levelIterator(files: readonly FileMetaData[], open: (meta: FileMetaData) => InternalIterator): InternalIterator {
  return new TwoLevelIterator({
    count: files.length,
    find: (target) => {
      let lo = 0;
      let hi = files.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareInternalKeys(files[mid]!.largest, target) < 0) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    },
    open: (i) => open(files[i]!),
  });
}
