/**
 * The range tombstones a reader must honour: those of every memtable and of every table of
 * the current version, fragmented for O(log n) lookups. Rebuilt only when its sources change;
 * a database without range deletions pays one length check per read.
 */
import { FragmentedRangeTombstones, type RangeTombstone } from '../base/range-tombstone.js';
import type { Version } from '../manifest/version.js';
import type { MemTable } from '../memtable/memtable.js';
import type { TableCache } from './table-cache.js';

export class RangeTombstoneIndex {
  /** Tombstones per table file number (tables are immutable, so this never goes stale). */
  readonly #byFile = new Map<number, readonly RangeTombstone[]>();
  #version: Version | undefined;
  #versionTombstones: RangeTombstone[] = [];
  #memGeneration = -1;
  #current = FragmentedRangeTombstones.EMPTY;

  constructor(readonly tableCache: TableCache) {}

  /**
   * The fragmented tombstones for reads of `version` plus the memtables. `memGeneration` changes
   * whenever a range deletion enters a memtable, so an unchanged source costs two comparisons
   * and no allocation; `memtables` is called only to rebuild.
   */
  get(version: Version, memGeneration: number, memtables: () => readonly MemTable[]): FragmentedRangeTombstones {
    if (version === this.#version && memGeneration === this.#memGeneration) return this.#current;
    if (version !== this.#version) {
      this.#version = version;
      this.#versionTombstones = this.#collect(version);
    }
    this.#memGeneration = memGeneration;
    const memTombstones = memtables().flatMap((m) => m.rangeTombstones);
    const all = this.#versionTombstones.length === 0 ? memTombstones : [...this.#versionTombstones, ...memTombstones];
    this.#current = all.length === 0 ? FragmentedRangeTombstones.EMPTY : new FragmentedRangeTombstones(all);
    return this.#current;
  }

  #collect(version: Version): RangeTombstone[] {
    const out: RangeTombstone[] = [];
    const live = new Set<number>();
    for (const { meta } of version.allFiles()) {
      live.add(meta.number);
      let ts = this.#byFile.get(meta.number);
      if (ts === undefined) {
        ts = this.tableCache.get(meta.number).rangeTombstones;
        this.#byFile.set(meta.number, ts);
      }
      for (const t of ts) out.push(t);
    }
    for (const n of this.#byFile.keys()) if (!live.has(n)) this.#byFile.delete(n);
    return out;
  }
}
