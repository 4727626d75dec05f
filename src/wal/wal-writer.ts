/**
 * Writes the write-ahead log: one record-log record per WriteBatch, whose payload is the batch's
 * rep (sequence, count, updates) exactly as LevelDB's DBImpl::Write does, so LevelDB can replay
 * our WAL and we can replay LevelDB's. Framing and checksums come from LogWriter.
 */
import type { WritableFile } from '../fs/file-system.js';
import { LogWriter } from '../record/log-writer.js';
import type { WriteBatch } from './write-batch.js';

export class WalWriter {
  readonly #log: LogWriter;

  /** Resumes after the file's existing bytes when it is not empty. */
  constructor(file: WritableFile) {
    this.#log = new LogWriter(file);
  }

  /** Appends the batch (its sequence must already be set). Durable only after sync(). */
  add(batch: WriteBatch): void {
    this.#log.addRecord(batch.rep());
  }

  sync(): void {
    this.#log.sync();
  }

  close(): void {
    this.#log.close();
  }

  /** Bytes in the log file. */
  get size(): number {
    return this.#log.size;
  }
}
