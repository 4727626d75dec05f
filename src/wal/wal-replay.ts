/**
 * Replays a write-ahead log: reads the record log (LogReader, which applies the recovery mode to
 * damaged framing) and decodes each record as a WriteBatch rep.
 *
 * A record whose framing and checksum are fine but whose batch does not decode (shorter than the
 * 12-byte header, truncated update, unknown tag, wrong count) is damage too, handled the same way
 * per mode: absoluteConsistency throws; pointInTime stops before it; skipAnyCorruptedRecords
 * drops it; tolerateCorruptedTailRecords drops it only when no record follows it, else throws.
 */
import { CorruptionError } from '../base/errors.js';
import type { FileSystem } from '../fs/file-system.js';
import { LogReader, type RecoveryMode } from '../record/log-reader.js';
import { intactFragmentAfter } from '../record/torn-tail.js';
import { WriteBatch } from './write-batch.js';

export interface WalReplayResult {
  /** Batches passed to onBatch. */
  batches: number;
  /** Highest sequence number used by a replayed batch (0 when none). */
  lastSequence: number;
  /** Bytes of the file that were not replayed because of damage. */
  droppedBytes: number;
}

/** Reads the WAL at `path` and calls `onBatch` with each intact batch, in order. */
export function replayWal(
  fs: FileSystem,
  path: string,
  mode: RecoveryMode,
  onBatch: (batch: WriteBatch) => void,
): WalReplayResult {
  const data = fs.readFile(path);
  const reader = new LogReader(data, path, {
    mode,
    // Damage with an intact record anywhere after it is corruption, never a torn tail.
    onDrop: mode !== 'tolerateCorruptedTailRecords' ? undefined : (region) => {
      if (intactFragmentAfter(data, region.offset)) {
        throw new CorruptionError(`WAL record damaged (${region.reason}) before intact records`, { file: path, offset: region.offset });
      }
    },
  });
  const result: WalReplayResult = { batches: 0, lastSequence: 0, droppedBytes: 0 };
  for (let record = reader.readRecord(); record !== undefined; record = reader.readRecord()) {
    const batch = decodeBatch(record, path, reader.lastRecordOffset);
    if (batch instanceof CorruptionError) {
      if (badBatchStopsReplay(batch, reader, data.length, result)) break;
      continue;
    }
    onBatch(batch);
    result.batches++;
    if (batch.count > 0) result.lastSequence = Math.max(result.lastSequence, batch.sequence + batch.count - 1);
  }
  result.droppedBytes += reader.droppedBytes;
  return result;
}

/** The batch, or the CorruptionError (located at the record's offset) explaining why not. */
function decodeBatch(record: Uint8Array, path: string, offset: number): WriteBatch | CorruptionError {
  try {
    return WriteBatch.fromRep(record);
  } catch (err) {
    if (!CorruptionError.is(err)) throw err;
    return new CorruptionError(`bad write batch in WAL record: ${err.message}`, { file: path, offset }, { cause: err });
  }
}

/** Applies the mode to an undecodable batch; returns true when replay must stop. */
function badBatchStopsReplay(err: CorruptionError, reader: LogReader, fileSize: number, result: WalReplayResult): boolean {
  const offset = err.offset ?? 0;
  switch (reader.mode) {
    case 'absoluteConsistency':
      throw err;
    case 'skipAnyCorruptedRecords':
      result.droppedBytes += reader.endOfLastRecord - offset;
      return false;
    case 'pointInTime':
      result.droppedBytes += fileSize - offset;
      return true;
    case 'tolerateCorruptedTailRecords':
      if (anotherRecordFollows(reader)) throw err;
      // Only (tolerated) tail damage follows: the whole rest of the file is dropped.
      result.droppedBytes += fileSize - offset - reader.droppedBytes;
      return true;
  }
}

/** Reads on to see whether the bad batch is the last thing in the log. */
function anotherRecordFollows(reader: LogReader): boolean {
  try {
    return reader.readRecord() !== undefined;
  } catch (err) {
    if (CorruptionError.is(err)) return true; // corruption with valid records after it
    throw err;
  }
}
