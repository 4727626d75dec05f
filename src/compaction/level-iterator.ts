/**
 * Concatenates the tables of one sorted level (>= 1) into a single cursor, opening each table
 * only when the cursor reaches it.
 */
import type { InternalIterator } from '../base/iterator.js';
import { TwoLevelIterator } from '../base/two-level-iterator.js';
import { findFileIndex } from '../manifest/version.js';
import type { FileMetaData } from '../manifest/version-edit.js';

/** Requires: `files` sorted by key and disjoint. `open` returns a cursor over one table. */
export function levelIterator(files: readonly FileMetaData[], open: (meta: FileMetaData) => InternalIterator): InternalIterator {
  return new TwoLevelIterator({
    count: files.length,
    find: (target) => findFileIndex(files, target),
    open: (i) => open(files[i]!),
  });
}
