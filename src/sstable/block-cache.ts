/**
 * Byte-bounded LRU cache of uncompressed blocks shared by every table of a database
 * (RocksDB's block cache). A Map keeps insertion order, so the first key is the least
 * recently used; a hit re-inserts its entry. Keys are numbers: tableCacheId * 2^32 + offset.
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

export class BlockCache {
  readonly #map = new Map<number, Block>();
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
    const block = this.#map.get(key);
    if (block === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#map.delete(key);
    this.#map.set(key, block);
    return block;
  }

  insert(key: number, block: Block): void {
    if (block.charge > this.capacityBytes) return; // would evict everything for one block
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#usage -= old.charge;
      this.#map.delete(key);
    }
    this.#map.set(key, block);
    this.#usage += block.charge;
    this.#evict();
  }

  #evict(): void {
    while (this.#usage > this.capacityBytes) {
      const first = this.#map.entries().next();
      if (first.done) return;
      const [key, block] = first.value;
      this.#map.delete(key);
      this.#usage -= block.charge;
    }
  }

  /** Drops every block of one table (its file was deleted). */
  eraseTable(tableId: number, fileSize: number): void {
    // Blocks of a table occupy keys [id * 2^32, id * 2^32 + size). Tables are deleted far less
    // often than blocks are read, so a scan of the map is cheaper than a per-table index.
    const lo = tableId * OFFSET_SPACE;
    for (const key of this.#map.keys()) {
      if (key >= lo && key < lo + fileSize) {
        this.#usage -= this.#map.get(key)!.charge;
        this.#map.delete(key);
      }
    }
  }

  stats(): BlockCacheStats {
    return { capacityBytes: this.capacityBytes, usageBytes: this.#usage, entries: this.#map.size, hits: this.#hits, misses: this.#misses };
  }
}
