/**
 * Byte-bounded cache of uncompressed blocks shared by every table of a database (RocksDB's
 * block cache), evicting by second chance (CLOCK), an LRU approximation: a Map keeps insertion
 * order; a hit only sets the entry's referenced bit; eviction takes the oldest entry, but one
 * with its bit set gets the bit cleared and moves to the back instead. Hits, the hot path, thus
 * cost one Map lookup instead of a delete and re-insert. Keys: tableCacheId * 2^32 + offset.
 */
import type { Block } from './block.js';

const OFFSET_SPACE = 0x100000000;

export interface BlockCacheStats {
  capacityBytes: number;
  usageBytes: number;
  entries: number;
  hits: number;
  misses: number;
}

interface CacheEntry {
  block: Block;
  referenced: boolean;
}

export class BlockCache {
  readonly #map = new Map<number, CacheEntry>();
  #usage = 0;
  #hits = 0;
  #misses = 0;
  #nextId = 1;

  constructor(readonly capacityBytes: number) {}

  /** A fresh id for one opened table; keys of different tables never collide. */
  newId(): number {
    return this.#nextId++;
  }

  static key(tableId: number, offset: number): number {
    return tableId * OFFSET_SPACE + offset;
  }

  get(key: number): Block | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    entry.referenced = true;
    return entry.block;
  }

  insert(key: number, block: Block): void {
    if (block.charge > this.capacityBytes) return; // would evict everything for one block
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#usage -= old.block.charge;
      this.#map.delete(key);
    }
    this.#map.set(key, { block, referenced: false });
    this.#usage += block.charge;
    this.#evict();
  }

  #evict(): void {
    while (this.#usage > this.capacityBytes) {
      const first = this.#map.entries().next();
      if (first.done) return;
      const [key, entry] = first.value;
      this.#map.delete(key);
      if (entry.referenced) {
        entry.referenced = false; // second chance: back of the queue
        this.#map.set(key, entry);
      } else {
        this.#usage -= entry.block.charge;
      }
    }
  }

  /** Drops every block of one table (its file was deleted). */
  eraseTable(tableId: number, fileSize: number): void {
    // Blocks of a table occupy keys [id * 2^32, id * 2^32 + size). Tables are deleted far less
    // often than blocks are read, so a scan of the map is cheaper than a per-table index.
    const lo = tableId * OFFSET_SPACE;
    for (const key of this.#map.keys()) {
      if (key >= lo && key < lo + fileSize) {
        this.#usage -= this.#map.get(key)!.block.charge;
        this.#map.delete(key);
      }
    }
  }

  stats(): BlockCacheStats {
    return { capacityBytes: this.capacityBytes, usageBytes: this.#usage, entries: this.#map.size, hits: this.#hits, misses: this.#misses };
  }
}
