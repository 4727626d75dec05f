/**
 * On-disk tags of VersionEdit fields in the MANIFEST, exactly LevelDB's (db/version_edit.cc).
 * Each field of an edit is `varint32 tag` followed by its value; see docs/format/manifest.md.
 * lsm-state writes only these tags, so LevelDB can open the databases it writes.
 */

/** varstring: name of the comparator that orders the database's keys. */
export const TAG_COMPARATOR = 1;
/** varint64: WAL files numbered below this are no longer needed. */
export const TAG_LOG_NUMBER = 2;
/** varint64: the next file number to allocate. */
export const TAG_NEXT_FILE_NUMBER = 3;
/** varint64: the last sequence number used. */
export const TAG_LAST_SEQUENCE = 4;
/** varint32 level, varstring internal key: where the next compaction of that level starts. */
export const TAG_COMPACT_POINTER = 5;
/** varint32 level, varint64 file number: a table removed from that level. */
export const TAG_DELETED_FILE = 6;
/** varint32 level, varint64 number, varint64 size, varstring smallest, varstring largest. */
export const TAG_NEW_FILE = 7;
/** Retired by LevelDB (was kLargeValueRef). Never write it and never give it a new meaning. */
export const TAG_RETIRED_LARGE_VALUE_REF = 8;
/** varint64: the WAL being compacted when the edit was written (LevelDB's prev log number). */
export const TAG_PREV_LOG_NUMBER = 9;

/** LevelDB's config::kNumLevels: its decoder rejects a level at or above this. */
export const NUM_LEVELS = 7;
