/**
 * On-disk constants of the table format (docs/format/sstable.md). LevelDB's table format,
 * with RocksDB's names for the properties meta block and our own name for the whole-table
 * bloom filter (LevelDB looks only for "filter.<its policy name>", so it ignores ours).
 */

/** Footer: metaindex handle, index handle, zero padding to 40 bytes, then the magic. */
export const FOOTER_BYTES = 48;
export const FOOTER_HANDLES_BYTES = 40;
/** LevelDB's table magic 0xdb4775248b80fb57, stored little-endian. */
export const TABLE_MAGIC_LO = 0x8b80fb57;
export const TABLE_MAGIC_HI = 0xdb477524;

/** Each block is followed by 1 byte compression type + 4 bytes masked CRC32C. */
export const BLOCK_TRAILER_BYTES = 5;

/** Largest encoded BlockHandle: two varint64s. */
export const MAX_BLOCK_HANDLE_BYTES = 20;

export const FULL_FILTER_META_NAME = 'fullfilter.lsm-state.Bloom1';
export const PROPERTIES_META_NAME = 'rocksdb.properties';
/** RocksDB's range-deletion block: key (start, seq, RangeDeletion) → end user key. */
export const RANGE_DEL_META_NAME = 'rocksdb.range_del';
/** LevelDB's own per-2KiB filter block, recognised (and ignored) when reading its tables. */
export const LEVELDB_FILTER_PREFIX = 'filter.';

/** Property names (RocksDB's where RocksDB has one). */
export const PROP = {
  COMPRESSION: 'rocksdb.compression',
  DATA_SIZE: 'rocksdb.data.size',
  FILTER_SIZE: 'rocksdb.filter.size',
  INDEX_SIZE: 'rocksdb.index.size',
  NUM_DATA_BLOCKS: 'rocksdb.num.data.blocks',
  NUM_DELETIONS: 'rocksdb.deleted.keys',
  NUM_ENTRIES: 'rocksdb.num.entries',
  NUM_MERGE_OPERANDS: 'rocksdb.merge.operands',
  NUM_RANGE_DELETIONS: 'rocksdb.num.range-deletions',
  RAW_KEY_SIZE: 'rocksdb.raw.key.size',
  RAW_VALUE_SIZE: 'rocksdb.raw.value.size',
  SMALLEST_SEQNO: 'lsm-state.smallest.seqno',
  LARGEST_SEQNO: 'lsm-state.largest.seqno',
} as const;
