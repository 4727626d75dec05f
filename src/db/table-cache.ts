/**
 * Open table readers by file number, bounded by `maxOpenFiles` (LRU), as LevelDB's
 * TableCache. A table the MANIFEST names but the directory lacks is corruption.
 */
import { CorruptionError, LsmError } from '../base/errors.js';
import type { FileSystem } from '../fs/file-system.js';
import { legacyTableFileName, tableFileName } from '../manifest/filenames.js';
import type { BlockCache } from '../sstable/block-cache.js';
import { TableReader } from '../sstable/table-reader.js';

export class TableCache {
  readonly #readers = new Map<number, TableReader>();

  constructor(
    readonly fs: FileSystem,
    readonly dir: string,
    readonly blockCache: BlockCache,
    readonly maxOpenFiles: number,
  ) {}

  get(fileNumber: number): TableReader {
    const hit = this.#readers.get(fileNumber);
    if (hit !== undefined) {
      if (this.#readers.size > 64) {
        // Keep LRU order only when eviction can matter; re-insertion costs on the hot path.
        this.#readers.delete(fileNumber);
        this.#readers.set(fileNumber, hit);
      }
      return hit;
    }
    const reader = TableReader.open(this.fs, this.pathOf(fileNumber), { cache: this.blockCache });
    this.#readers.set(fileNumber, reader);
    this.#evict();
    return reader;
  }

  /** The path of table `fileNumber` (.sst, or LevelDB's .ldb). */
  pathOf(fileNumber: number): string {
    const path = tableFileName(this.dir, fileNumber);
    if (this.fs.exists(path)) return path;
    const legacy = legacyTableFileName(this.dir, fileNumber);
    if (this.fs.exists(legacy)) return legacy;
    throw new CorruptionError(`table file ${fileNumber} named by the MANIFEST is missing`, { file: path });
  }

  #evict(): void {
    while (this.#readers.size > this.maxOpenFiles) {
      const first = this.#readers.entries().next();
      if (first.done) return;
      this.#readers.delete(first.value[0]);
      first.value[1].close();
    }
  }

  /** Closes the reader of a deleted file. */
  evict(fileNumber: number): void {
    const reader = this.#readers.get(fileNumber);
    if (reader === undefined) return;
    this.#readers.delete(fileNumber);
    reader.close();
  }

  close(): void {
    for (const reader of this.#readers.values()) {
      try {
        reader.close();
      } catch (err) {
        if (!LsmError.is(err)) throw err;
      }
    }
    this.#readers.clear();
  }
}
