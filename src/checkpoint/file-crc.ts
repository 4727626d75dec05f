import { createReadStream } from 'node:fs';
import { crc32c } from '../base/crc32c.js';
import { toIoError } from '../base/errors.js';

/** CRC32C (unmasked, unsigned) and size of a local file, streamed. */
export async function fileCrc32c(path: string): Promise<{ crc: number; size: number }> {
  let crc = 0;
  let size = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
      const b = chunk as Buffer;
      crc = crc32c(b, crc);
      size += b.length;
    }
  } catch (err) {
    throw toIoError(err, 'reading', path);
  }
  return { crc: crc >>> 0, size };
}
