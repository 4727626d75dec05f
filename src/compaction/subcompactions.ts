/**
 * Splits one compaction into disjoint user-key ranges that run as separate jobs in parallel
 * (RocksDB's subcompactions, CompactionJob::GenSubcompactionBoundaries). Each range is merged,
 * filtered and written on its own; the manager installs every range's outputs in one version
 * edit, so readers never see a half-done compaction.
 *
 * Boundaries come from the input files' own first and last user keys, the only key positions
 * known without reading the tables. The bytes between two neighbouring boundaries are estimated
 * by spreading each file's size evenly over the gaps it spans; ranges are then cut greedily so
 * each holds about the same share of the estimated input. A range boundary is a user key:
 * every version of a key falls in exactly one range, so snapshots, merges and deletions are
 * decided exactly as in one job.
 */
import { compareBytes } from '../base/comparator.js';
import { userKeyOf } from '../base/internal-key.js';
import type { FileMetaData } from '../manifest/version-edit.js';

/** A user-key range [lower, upper); undefined bounds are open. */
export interface SubcompactionRange {
  lower: Uint8Array | undefined;
  upper: Uint8Array | undefined;
}

const WHOLE: SubcompactionRange = { lower: undefined, upper: undefined };

/**
 * At most `maxRanges` ranges over `files`, each expected to read at least `minBytesPerRange`
 * (below that a job's fixed cost outweighs the parallelism). One open range when no split pays.
 */
export function subcompactionRanges(files: readonly FileMetaData[], maxRanges: number, minBytesPerRange: number): SubcompactionRange[] {
  const total = files.reduce((n, f) => n + f.size, 0);
  const wanted = Math.min(maxRanges, Math.floor(total / Math.max(1, minBytesPerRange)));
  if (wanted < 2) return [WHOLE];
  const keys = boundaryKeys(files);
  if (keys.length < 3) return [WHOLE];
  const gapBytes = estimateGapBytes(files, keys);
  const cuts = cutPoints(keys, gapBytes, total, wanted);
  if (cuts.length === 0) return [WHOLE];
  const ranges: SubcompactionRange[] = [];
  let lower: Uint8Array | undefined;
  for (const cut of cuts) {
    ranges.push({ lower, upper: cut });
    lower = cut;
  }
  ranges.push({ lower, upper: undefined });
  return ranges;
}

/** Distinct first and last user keys of the files, ascending. */
function boundaryKeys(files: readonly FileMetaData[]): Uint8Array[] {
  const all = files.flatMap((f) => [userKeyOf(f.smallest), userKeyOf(f.largest)]).sort(compareBytes);
  return all.filter((k, i) => i === 0 || compareBytes(all[i - 1]!, k) !== 0);
}

/** Index of `key` in the sorted distinct `keys` (it is always there). */
function indexOf(keys: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0;
  let hi = keys.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Estimated input bytes in each gap [keys[i], keys[i + 1]). */
function estimateGapBytes(files: readonly FileMetaData[], keys: readonly Uint8Array[]): Float64Array {
  const gaps = new Float64Array(keys.length - 1);
  for (const f of files) {
    const first = indexOf(keys, userKeyOf(f.smallest));
    const last = Math.max(first + 1, indexOf(keys, userKeyOf(f.largest)));
    const share = f.size / (last - first);
    for (let i = first; i < last && i < gaps.length; i++) gaps[i]! += share;
  }
  return gaps;
}

/**
 * Boundary keys that split the estimated bytes into `wanted` nearly equal parts: where the running
 * sum crosses a multiple of the share, cut at whichever end of that gap lands closer to it.
 */
function cutPoints(keys: readonly Uint8Array[], gapBytes: Float64Array, total: number, wanted: number): Uint8Array[] {
  const cuts: Uint8Array[] = [];
  const step = total / wanted;
  let sum = 0;
  let lastCut = 0;
  for (let i = 0; i < gapBytes.length - 1 && cuts.length < wanted - 1; i++) {
    const before = sum;
    sum += gapBytes[i]!;
    const goal = step * (cuts.length + 1);
    if (sum < goal) continue;
    const at = i > lastCut && goal - before < sum - goal ? i : i + 1;
    cuts.push(keys[at]!);
    lastCut = at;
  }
  return cuts;
}
