/**
 * Verifies and decompresses one block as stored in a table: contents, then a 5-byte trailer
 * (compression type, masked CRC32C of contents + type). Shared by the table reader's random
 * reads and the compaction scan's readahead chunks.
 */
import { decodeFixed32 } from '../base/coding.js';
import { crc32c, unmaskCrc } from '../base/crc32c.js';
import { CorruptionError } from '../base/errors.js';
import type { BlockHandle } from './block-handle.js';
import { CompressionType, type Scratch, codecFor } from './compression.js';

/**
 * The decoded contents of the block whose stored bytes (contents + trailer) start at
 * buf[start]. Uncompressed blocks come back as a view into `buf`; compressed ones as a fresh
 * buffer, or, given `scratch`, as a view into it (valid until the scratch is reused). Throws
 * CorruptionError naming the file and the block's offset.
 */
export function decodeBlock(buf: Uint8Array, start: number, handle: BlockHandle, file: string, scratch?: Scratch): Uint8Array {
  const end = start + handle.size;
  const stored = unmaskCrc(decodeFixed32(buf, end + 1));
  const actual = crc32c(buf.subarray(start, end + 1));
  if (stored !== actual) {
    throw new CorruptionError('block checksum mismatch', { file, offset: handle.offset, expected: stored, actual });
  }
  const type = buf[end]!;
  const contents = buf.subarray(start, end);
  if (type === CompressionType.None) return contents;
  const codec = codecFor(type, { file, offset: handle.offset });
  return scratch === undefined ? codec.decompress(contents, file, handle.offset) : codec.decompressInto(contents, scratch, file, handle.offset);
}
