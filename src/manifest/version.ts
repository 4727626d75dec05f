/**
 * A Version is one immutable view of which table files make up the database, per level.
 * Level 0 files may overlap and are kept newest first; files of levels >= 1 are disjoint and
 * sorted by smallest key. Versions are reference-counted: readers (iterators, checkpoints,
 * jobs) pin the version they read, and a file is deleted only when no live version holds it
 * (docs/invariants.md).
 */
import { compareBytesRange } from '../base/comparator.js';
import { AssertionError } from '../base/errors.js';
import { TRAILER_BYTES, compareInternalKeys, isRangeDeletionSentinel } from '../base/internal-key.js';
import { NUM_LEVELS } from './format.js';
import type { FileMetaData, VersionEdit } from './version-edit.js';

export { NUM_LEVELS };


function compareUserParts(a: Uint8Array, b: Uint8Array): number {
  return compareBytesRange(a, 0, a.length - TRAILER_BYTES, b, 0, b.length - TRAILER_BYTES);
}

/**
 * Index of the first file of a sorted, disjoint level whose largest key is >= `key` under
 * `compare` (internal-key order by default); files.length when none.
 */
export function findFileIndex(
  files: readonly FileMetaData[], key: Uint8Array, compare: (a: Uint8Array, b: Uint8Array) => number = compareInternalKeys,
): number {
  let lo = 0;
  let hi = files.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(files[mid]!.largest, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Version {
  /** files[level], see the class comment for the order. */
  readonly files: readonly (readonly FileMetaData[])[];
  #refs = 0;
  #onRelease: ((v: Version) => void) | undefined;

  constructor(files: FileMetaData[][], onRelease?: (v: Version) => void) {
    this.files = files;
    this.#onRelease = onRelease;
  }

  static empty(): Version {
    return new Version(Array.from({ length: NUM_LEVELS }, () => []));
  }

  ref(): void {
    this.#refs++;
  }

  unref(): void {
    if (this.#refs <= 0) throw new AssertionError('version unref below zero');
    this.#refs--;
    if (this.#refs === 0) this.#onRelease?.(this);
  }

  get refs(): number {
    return this.#refs;
  }

  /** @internal set by the VersionSet that owns this version */
  setOnRelease(fn: (v: Version) => void): void {
    this.#onRelease = fn;
  }

  get fileCount(): number {
    let n = 0;
    for (const level of this.files) n += level.length;
    return n;
  }

  levelBytes(level: number): number {
    let n = 0;
    for (const f of this.files[level] ?? []) n += f.size;
    return n;
  }

  *allFiles(): Generator<{ level: number; meta: FileMetaData }> {
    for (let level = 0; level < this.files.length; level++) {
      for (const meta of this.files[level]!) yield { level, meta };
    }
  }

  /**
   * Index of the first file in a level >= 1 whose largest key >= ikey (binary search);
   * files.length when none.
   */
  findFile(level: number, ikey: Uint8Array): number {
    return findFileIndex(this.files[level]!, ikey);
  }

  /** Files of `level` whose user-key range overlaps [smallestUser, largestUser] (internal keys). */
  overlappingFiles(level: number, smallest: Uint8Array, largest: Uint8Array): FileMetaData[] {
    return this.files[level]!.filter(
      (f) => compareUserParts(f.largest, smallest) >= 0 && compareUserParts(f.smallest, largest) <= 0,
    );
  }

  /** A new version with `edit` applied (deleted files removed, new files added in order). */
  apply(edit: VersionEdit): Version {
    const deleted = new Set(edit.deletedFiles.map((d) => `${d.level}:${d.number}`));
    const levels = this.files.map((files, level) => files.filter((f) => !deleted.has(`${level}:${f.number}`)));
    for (const { level, meta } of edit.newFiles) {
      if (level < 0 || level >= NUM_LEVELS) throw new AssertionError(`new file at level ${level}`);
      levels[level]!.push(meta);
    }
    levels[0]!.sort((a, b) => b.number - a.number);
    for (let level = 1; level < levels.length; level++) levels[level]!.sort((a, b) => compareInternalKeys(a.smallest, b.smallest));
    return new Version(levels);
  }

  /** Checks the ordering invariants; used behind the invariants flag and after recovery. */
  checkInvariants(): void {
    for (let level = 1; level < this.files.length; level++) {
      const files = this.files[level]!;
      for (let i = 1; i < files.length; i++) {
        const prev = files[i - 1]!.largest;
        const c = compareUserParts(prev, files[i]!.smallest);
        // A range-tombstone sentinel is exclusive: the next file may start at its user key.
        if (c > 0 || (c === 0 && !isRangeDeletionSentinel(prev))) {
          throw new AssertionError(`files ${files[i - 1]!.number} and ${files[i]!.number} overlap in level ${level}`);
        }
      }
    }
  }
}
