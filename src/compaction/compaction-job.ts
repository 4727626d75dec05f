/**
 * Runs one compaction: merges the input tables, passes every user key's versions through the
 * CompactionIterator, and writes the survivors to new tables of the output level, split by
 * size and by overlap with the level below the output (grandparents), never between two
 * versions of one user key. Range tombstones are written into every output file they overlap,
 * clipped to that file's share of the key space.
 *
 * A pure function of its spec and file system, so it runs the same on a worker thread and on
 * the main thread. Outputs are fsynced (files and directory) before the result is returned;
 * the caller makes them live with a VersionEdit.
 */
import { dirname } from 'node:path';
import { compareBytes } from '../base/comparator.js';
import { LsmError } from '../base/errors.js';
import { KIND_FOR_SEEK, MAX_SEQUENCE, TRAILER_BYTES, compareInternalKeys, makeInternalKey } from '../base/internal-key.js';
import type { InternalIterator } from '../base/iterator.js';
import { FragmentedRangeTombstones, type RangeTombstone } from '../base/range-tombstone.js';
import type { FileSystem, WritableFile } from '../fs/file-system.js';
import { legacyTableFileName, tableFileName } from '../manifest/filenames.js';
import type { FileMetaData } from '../manifest/version-edit.js';
import { BlockCache } from '../sstable/block-cache.js';
import { TableBuilder, type TableBuilderOptions } from '../sstable/table-builder.js';
import type { TableProperties } from '../sstable/table-properties.js';
import { TableReader } from '../sstable/table-reader.js';
import { CompactionIterator, type CompactionStats } from './compaction-iterator.js';
import { levelIterator } from './level-iterator.js';
import type { CompactionFilter, MergeOperator, UserFunctionSpec } from './merge-operator.js';
import { MergingIterator } from './merging-iterator.js';

export interface CompactionJobSpec {
  jobId: number;
  dir: string;
  /** Input files per level; level-0 files may overlap, others are sorted and disjoint. */
  inputs: { level: number; files: FileMetaData[] }[];
  outputLevel: number;
  /** File numbers reserved for outputs, used in order. */
  outputFileNumbers: number[];
  maxOutputFileBytes: number;
  grandparents: FileMetaData[];
  maxGrandparentOverlapBytes: number;
  snapshots: number[];
  bottommost: boolean;
  builder: TableBuilderOptions;
  /**
   * This job's share of the compaction's user keys, [lowerBound, upperBound), when the
   * compaction runs as subcompactions; absent bounds are open.
   */
  lowerBound?: Uint8Array;
  upperBound?: Uint8Array;
  /** Bytes each input table is read ahead by (RocksDB's compaction_readahead_size). */
  readaheadBytes: number;
  /** How a worker loads the user functions (absent: none, or the caller passes them directly). */
  mergeOperatorSpec?: UserFunctionSpec;
  compactionFilterSpec?: UserFunctionSpec;
}

export interface CompactionOutput extends FileMetaData {
  properties: TableProperties;
}

export interface CompactionJobResult {
  jobId: number;
  outputs: CompactionOutput[];
  bytesRead: number;
  bytesWritten: number;
  /** Wall time the job took on its thread (inputs opened to outputs synced), microseconds. */
  micros: number;
  stats: CompactionStats | undefined;
  error?: { message: string; code?: string; name?: string };
}

export interface CompactionFunctions {
  mergeOperator?: MergeOperator | undefined;
  compactionFilter?: CompactionFilter | undefined;
}

/** Input tables, each scanned once front to back with readahead, bypassing every block cache. */
function openInputs(fs: FileSystem, spec: CompactionJobSpec): { readers: TableReader[]; children: InternalIterator[] } {
  // Index and meta blocks are read uncached at open; data blocks never touch this cache.
  const cache = new BlockCache(0);
  const readers = new Map<number, TableReader>();
  const open = (meta: FileMetaData): TableReader => {
    let r = readers.get(meta.number);
    if (r === undefined) {
      const path = tableFileName(spec.dir, meta.number);
      r = TableReader.open(fs, fs.exists(path) ? path : legacyTableFileName(spec.dir, meta.number), { cache, skipFilter: true });
      readers.set(meta.number, r);
    }
    return r;
  };
  const scan = (f: FileMetaData): InternalIterator => open(f).scanIterator(spec.readaheadBytes);
  const children: InternalIterator[] = [];
  for (const { level, files } of spec.inputs) {
    if (level === 0) for (const f of files) children.push(scan(f));
    else children.push(levelIterator(files, scan));
  }
  // Range tombstones live in meta blocks: read them from every input up front.
  for (const { files } of spec.inputs) for (const f of files) open(f);
  return { readers: [...readers.values()], children };
}

/** Tombstones worth keeping: the newest per snapshot stripe, none at the bottom in the oldest stripe. */
function survivingTombstones(all: FragmentedRangeTombstones, spec: CompactionJobSpec): RangeTombstone[] {
  const stripeOf = (seq: number): number => {
    let i = 0;
    while (i < spec.snapshots.length && spec.snapshots[i]! < seq) i++;
    return i;
  };
  const out: RangeTombstone[] = [];
  let lastFragmentStart: Uint8Array | undefined;
  let seenStripes = new Set<number>();
  for (const t of all.tombstones()) {
    if (lastFragmentStart !== t.start) {
      lastFragmentStart = t.start;
      seenStripes = new Set();
    }
    const stripe = stripeOf(t.seq);
    if (seenStripes.has(stripe)) continue; // a newer tombstone of the stripe covers the same keys
    seenStripes.add(stripe);
    if (spec.bottommost && stripe === 0) continue;
    out.push(t);
  }
  return out;
}

/** Whether a tombstone covers any user key of the job's [lowerBound, upperBound). */
function overlapsBounds(t: RangeTombstone, spec: CompactionJobSpec): boolean {
  return (spec.lowerBound === undefined || compareBytes(t.end, spec.lowerBound) > 0) &&
    (spec.upperBound === undefined || compareBytes(t.start, spec.upperBound) < 0);
}

class OutputWriter {
  readonly outputs: CompactionOutput[] = [];
  #file: WritableFile | undefined;
  #builder: TableBuilder | undefined;
  #number = 0;
  #nextNumberIndex = 0;
  /** Lower user-key bound of the current file's share of the key space (undefined: -inf). */
  #lower: Uint8Array | undefined;
  #grandparentIndex = 0;
  #overlappedBytes = 0;
  #seenKey = false;

  constructor(readonly fs: FileSystem, readonly spec: CompactionJobSpec, readonly tombstones: RangeTombstone[]) {
    this.#lower = spec.lowerBound;
  }

  add(key: Uint8Array, value: Uint8Array): void {
    const userEnd = key.length - TRAILER_BYTES;
    // A file is only cut between user keys, so the open builder knows the last one.
    const newUserKey = this.#builder === undefined || !this.#builder.isLastUserKey(key, userEnd);
    if (this.#builder !== undefined && newUserKey && this.#shouldStopBefore(key)) this.#finish(key.slice(0, userEnd));
    if (this.#builder === undefined) this.#open();
    this.#builder!.add(key, value);
  }

  /** LevelDB's ShouldStopBefore plus the size limit. */
  #shouldStopBefore(key: Uint8Array): boolean {
    const gp = this.spec.grandparents;
    while (this.#grandparentIndex < gp.length && compareInternalKeys(key, gp[this.#grandparentIndex]!.largest) > 0) {
      if (this.#seenKey) this.#overlappedBytes += gp[this.#grandparentIndex]!.size;
      this.#grandparentIndex++;
    }
    this.#seenKey = true;
    const overGrandparents = this.#overlappedBytes > this.spec.maxGrandparentOverlapBytes;
    const overSize = this.#builder!.estimatedFileSize >= this.spec.maxOutputFileBytes;
    const canSplit = this.#nextNumberIndex < this.spec.outputFileNumbers.length;
    if ((overGrandparents || overSize) && canSplit) {
      this.#overlappedBytes = 0;
      return true;
    }
    return false;
  }

  #open(): void {
    const number = this.spec.outputFileNumbers[this.#nextNumberIndex++];
    if (number === undefined) throw new LsmError('LSM_ASSERTION', 'compaction ran out of reserved output file numbers');
    this.#number = number;
    this.#file = this.fs.openWritable(tableFileName(this.spec.dir, number));
    this.#builder = new TableBuilder(this.#file, this.spec.builder);
  }

  /** Finishes the current file; `upper` is the first user key of the next file (undefined: +inf). */
  #finish(upper: Uint8Array | undefined): void {
    const builder = this.#builder!;
    for (const t of this.tombstones) {
      const start = this.#lower !== undefined && compareBytes(t.start, this.#lower) < 0 ? this.#lower : t.start;
      const end = upper !== undefined && compareBytes(t.end, upper) > 0 ? upper : t.end;
      if (compareBytes(start, end) < 0) builder.addRangeTombstone({ start, end, seq: t.seq });
    }
    const result = builder.finish();
    this.#file!.sync();
    this.#file!.close();
    this.outputs.push({ number: this.#number, size: result.fileSize, smallest: result.smallest, largest: result.largest, properties: result.properties });
    this.#builder = undefined;
    this.#file = undefined;
    this.#lower = upper;
  }

  close(): void {
    if (this.#builder === undefined && this.outputs.length === 0 && this.tombstones.length > 0) this.#open();
    if (this.#builder !== undefined) this.#finish(this.spec.upperBound);
  }

  abandon(): void {
    try { this.#file?.close(); } catch { /* already failing */ }
    for (const n of [this.#number, ...this.outputs.map((o) => o.number)]) {
      try { this.fs.unlink(tableFileName(this.spec.dir, n)); } catch { /* open deletes orphans */ }
    }
  }
}

export function runCompactionJob(fs: FileSystem, spec: CompactionJobSpec, functions: CompactionFunctions): CompactionJobResult {
  const started = performance.now();
  const { readers, children } = openInputs(fs, spec);
  try {
    const tombstones = new FragmentedRangeTombstones(readers.flatMap((r) => r.rangeTombstones));
    const kept = survivingTombstones(tombstones, spec).filter((t) => overlapsBounds(t, spec));
    const out = new OutputWriter(fs, spec, kept);
    const input = new MergingIterator(children);
    if (spec.lowerBound === undefined) input.seekToFirst();
    else input.seek(makeInternalKey(spec.lowerBound, MAX_SEQUENCE, KIND_FOR_SEEK));
    const iter = new CompactionIterator(input, {
      upperBound: spec.upperBound,
      snapshots: spec.snapshots,
      bottommost: spec.bottommost,
      rangeTombstones: tombstones,
      mergeOperator: functions.mergeOperator,
      compactionFilter: functions.compactionFilter,
      outputLevel: spec.outputLevel,
    });
    try {
      for (let e = iter.next(); e !== undefined; e = iter.next()) out.add(e.key, e.value);
      out.close();
    } catch (err) {
      out.abandon();
      throw err;
    } finally {
      input.close();
    }
    if (out.outputs.length > 0) fs.syncDir(dirname(tableFileName(spec.dir, 0)));
    const bytesRead = spec.inputs.reduce((n, l) => n + l.files.reduce((m, f) => m + f.size, 0), 0);
    const bytesWritten = out.outputs.reduce((n, o) => n + o.size, 0);
    const micros = Math.round((performance.now() - started) * 1000);
    return { jobId: spec.jobId, outputs: out.outputs, bytesRead, bytesWritten, micros, stats: iter.stats };
  } finally {
    for (const r of readers) r.close();
  }
}
