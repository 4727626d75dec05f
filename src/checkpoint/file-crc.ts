import { open } from 'node:fs/promises';
import { crc32c } from '../base/crc32c.js';
import { toIoError } from '../base/errors.js';

/** Read size of a checksum pass: large enough for few round trips, small enough to stay in cache. */
export const CRC_CHUNK_BYTES = 1 << 20;

/**
 * CRC32C (unmasked, unsigned) and size of a local file, in one pass through `buf` (reused by
 * callers that checksum many files; a stream would allocate a fresh chunk per read).
 */
export async function fileCrc32c(path: string, buf: Buffer = Buffer.allocUnsafe(CRC_CHUNK_BYTES)): Promise<{ crc: number; size: number }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw toIoError(err, 'opening', path);
  }
  try {
    let crc = 0;
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, size);
      if (bytesRead === 0) break;
      crc = crc32c(buf.subarray(0, bytesRead), crc);
      size += bytesRead;
    }
    return { crc: crc >>> 0, size };
  } catch (err) {
    throw toIoError(err, 'reading', path);
  } finally {
    await fh.close();
  }
}
