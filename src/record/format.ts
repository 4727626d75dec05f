/**
 * The record log format shared by the WAL and the MANIFEST: LevelDB's doc/log_format.md,
 * byte for byte, so LevelDB can read our logs and we can read LevelDB's.
 *
 * A log file is a sequence of 32 KiB blocks (the last one may be partial). Each block holds
 * physical records ("fragments"), each with a 7-byte header:
 *
 *   checksum: fixed32 LE   masked CRC32C of the type byte followed by the payload
 *   length:   fixed16 LE   payload bytes (so a fragment never exceeds one block)
 *   type:     uint8        FULL, FIRST, MIDDLE or LAST
 *   payload:  uint8[length]
 *
 * A fragment never starts in the last 6 bytes of a block; those bytes (the trailer) are zeros
 * that readers skip. A logical record that does not fit in the rest of a block is split into
 * FIRST, MIDDLE*, LAST fragments. Full description: docs/format/record-log.md.
 */

/** Blocks let a reader resynchronise after damage: it skips to the next block boundary. */
export const BLOCK_SIZE = 32768;

/** checksum (4) + length (2) + type (1). */
export const HEADER_SIZE = 7;

/** Reserved for preallocated (zero-filled) file regions; never written. */
export const RECORD_ZERO = 0;
/** A whole logical record in one fragment. */
export const RECORD_FULL = 1;
/** First fragment of a logical record split across blocks. */
export const RECORD_FIRST = 2;
/** Interior fragment. */
export const RECORD_MIDDLE = 3;
/** Final fragment. */
export const RECORD_LAST = 4;

/** Highest type LevelDB defines; anything above is unknown to us too. */
export const MAX_RECORD_TYPE = RECORD_LAST;
