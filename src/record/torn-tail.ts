/**
 * Which damage at the end of a record log recovery may ignore.
 *
 * MANIFEST (isTornTail): every edit is synced before it is acknowledged, so the only damage a
 * crash can leave is a torn write: a prefix of the one record being appended. The record log's tail classification is far wider than that (after a bad
 * fragment it resynchronises at the next 32 KiB block, so any damage in the last block counts
 * as "tail"); tolerating all of it would silently drop acknowledged edits, and open would then
 * delete the tables they added. So recovery accepts tail damage only when the first damaged
 * fragment is cut short by the end of the file and no intact fragment starts anywhere after it.
 */
import { decodeFixed32 } from '../base/coding.js';
import { crc32c, unmaskCrc } from '../base/crc32c.js';
import { BLOCK_SIZE, HEADER_SIZE, MAX_RECORD_TYPE, RECORD_FULL } from './format.js';

/** End of the intact fragment (valid type and checksum) whose header is at `pos`, or -1. */
function intactFragmentEnd(data: Uint8Array, pos: number): number {
  if (data.length - pos < HEADER_SIZE) return -1;
  const type = data[pos + 6]!;
  const end = pos + HEADER_SIZE + (data[pos + 4]! | (data[pos + 5]! << 8));
  if (type < RECORD_FULL || type > MAX_RECORD_TYPE || end > data.length) return -1;
  return unmaskCrc(decodeFixed32(data, pos)) === crc32c(data.subarray(pos + 6, end)) ? end : -1;
}

/** Offset of the first fragment at or after `pos` that is not intact (data.length when none). */
function firstBadFragment(data: Uint8Array, pos: number): number {
  for (;;) {
    const blockLeft = BLOCK_SIZE - (pos % BLOCK_SIZE);
    if (blockLeft < HEADER_SIZE) pos += blockLeft; // block trailer
    if (pos >= data.length) return data.length;
    const end = intactFragmentEnd(data, pos);
    if (end < 0) return pos;
    pos = end;
  }
}

/** True when the fragment at `pos` is cut short by the end of the file (or is zero fill). */
function cutShort(data: Uint8Array, pos: number): boolean {
  if (data.length - pos < HEADER_SIZE) return true;
  if (data.subarray(pos, pos + HEADER_SIZE).every((b) => b === 0)) return true;
  return pos + HEADER_SIZE + (data[pos + 4]! | (data[pos + 5]! << 8)) > data.length;
}

/** True when the damage the log reader reported at `offset` can only be a torn last write. */
export function isTornTail(data: Uint8Array, offset: number): boolean {
  const bad = firstBadFragment(data, offset);
  if (!cutShort(data, bad)) return false;
  for (let pos = bad + 1; pos + HEADER_SIZE <= data.length; pos++) {
    if (intactFragmentEnd(data, pos) >= 0) return false;
  }
  return true;
}

/**
 * WAL (intactFragmentAfter): unsynced writes may reach the disk in any state, so damage is a
 * crash's tail only when no intact fragment starts anywhere after it. The reader's own check
 * resumes at the next 32 KiB block; this one scans every byte, so a flipped bit in a record
 * followed by intact records in the same block is reported as corruption, not dropped.
 */
export function intactFragmentAfter(data: Uint8Array, offset: number): boolean {
  for (let pos = offset + 1; pos + HEADER_SIZE <= data.length; pos++) {
    if (intactFragmentEnd(data, pos) >= 0) return true;
  }
  return false;
}
