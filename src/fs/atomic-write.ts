import type { FileSystem } from './file-system.js';
import { dirname } from 'node:path';

/**
 * Replaces `path` with `data` so that after a crash it holds either the old or the new bytes:
 * write a temporary file, fsync it, rename it over `path`, fsync the directory.
 */
export function writeFileAtomic(fs: FileSystem, path: string, data: Uint8Array): void {
  const tmp = `${path}.dbtmp`;
  const file = fs.openWritable(tmp);
  try {
    file.append(data);
    file.sync();
  } finally {
    file.close();
  }
  fs.rename(tmp, path);
  fs.syncDir(dirname(path));
}
