/**
 * Writes one immutable memtable to a level-0 table. Pure function of its inputs so it runs the
 * same on a worker thread (Node file system) and inline on the main thread (in-memory file
 * system in tests). The memtable arrives as its SharedArrayBuffer: nothing is copied.
 *
 * Versions no reader can see are not written (as RocksDB's flush): below a value or deletion of
 * the same user key in the same snapshot stripe, an older version is hidden from every snapshot
 * and from the present. Merge operands keep what is below them (the flush has no merge
 * operator). Every compaction would otherwise read and drop them again.
 */
import { dirname } from 'node:path';
import { TRAILER_BYTES, ValueKind, decodeTrailerSequence } from '../base/internal-key.js';
import type { FileSystem } from '../fs/file-system.js';
import { ReusableBytes } from '../base/reusable-bytes.js';
import { snapshotStripe } from '../compaction/compaction-iterator.js';
import { MemTable } from '../memtable/memtable.js';
import { TableBuilder, type TableBuilderOptions } from '../sstable/table-builder.js';
import type { TableProperties } from '../sstable/table-properties.js';

export interface FlushJobSpec {
  jobId: number;
  fileNumber: number;
  tablePath: string;
  memtable: SharedArrayBuffer;
  builder: TableBuilderOptions;
  /** Sequence numbers of live snapshots when the flush was scheduled, ascending. */
  snapshots: number[];
}

export interface FlushJobResult {
  jobId: number;
  fileNumber: number;
  /** 0 when the memtable was empty and no file was written. */
  fileSize: number;
  smallest: Uint8Array;
  largest: Uint8Array;
  properties: TableProperties | undefined;
  /** Set when the job failed; the message and code of the error. */
  error?: { message: string; code?: string; name?: string };
}

export function runFlushJob(fs: FileSystem, spec: FlushJobSpec): FlushJobResult {
  const mem = MemTable.fromShared(spec.memtable);
  const empty = { jobId: spec.jobId, fileNumber: spec.fileNumber, fileSize: 0, smallest: new Uint8Array(0), largest: new Uint8Array(0), properties: undefined };
  if (mem.isEmpty) return empty;
  const file = fs.openWritable(spec.tablePath);
  try {
    const builder = new TableBuilder(file, spec.builder);
    const hidden = new HiddenVersions(spec.snapshots);
    const it = mem.iterator();
    for (it.seekToFirst(); it.valid(); it.next()) {
      const key = it.key();
      const userEnd = key.length - TRAILER_BYTES;
      // Range tombstones go to the table's range-deletion block, not its data blocks.
      if (key[userEnd] === ValueKind.RangeDeletion) {
        builder.addRangeTombstone({ start: key.subarray(0, userEnd), end: it.value(), seq: decodeTrailerSequence(key, userEnd) });
      } else if (!hidden.isHidden(key, userEnd)) {
        builder.add(key, it.value());
      }
    }
    const result = builder.finish();
    file.sync();
    file.close();
    // The MANIFEST will name this file; its directory entry must be durable first.
    fs.syncDir(dirname(spec.tablePath));
    return { ...empty, fileSize: result.fileSize, smallest: result.smallest, largest: result.largest, properties: result.properties };
  } catch (err) {
    try { file.close(); } catch { /* already failing */ }
    try { fs.unlink(spec.tablePath); } catch { /* best effort: open deletes orphans */ }
    throw err;
  }
}

/**
 * Recognises hidden versions in a memtable's order (user key ascending, newest first): an entry
 * is hidden when the last kept entry has the same user key, is a value or a deletion, and lies in
 * the same snapshot stripe (no snapshot sequence s with entry.seq <= s < kept.seq).
 */
class HiddenVersions {
  readonly #snapshots: number[];
  readonly #userKey = new ReusableBytes();
  #hides = false;
  #stripe = -1;

  constructor(snapshots: number[]) {
    this.#snapshots = snapshots;
  }

  /** Whether key (user key key[0, userEnd)) is hidden; remembers it as the last kept otherwise. */
  isHidden(key: Uint8Array, userEnd: number): boolean {
    const stripe = snapshotStripe(this.#snapshots, decodeTrailerSequence(key, userEnd));
    if (this.#hides && stripe === this.#stripe && this.#userKey.equals(key, 0, userEnd)) return true;
    const kind = key[userEnd]!;
    this.#userKey.assign(key, 0, userEnd);
    this.#hides = kind === ValueKind.Value || kind === ValueKind.Deletion;
    this.#stripe = stripe;
    return false;
  }
}

/** Flattens an error for posting across threads. */
export function describeError(err: unknown): { message: string; code?: string; name?: string } {
  const e = err as { message?: unknown; code?: unknown; name?: unknown };
  return {
    message: typeof e?.message === 'string' ? e.message : String(err),
    code: typeof e?.code === 'string' ? e.code : undefined,
    name: typeof e?.name === 'string' ? e.name : undefined,
  };
}
