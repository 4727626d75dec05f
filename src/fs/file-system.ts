/**
 * All engine I/O goes through this small synchronous interface (DESIGN.md principle 5):
 * a Node implementation for real directories and an in-memory one that can simulate a crash
 * and inject faults, for tests. The data path is synchronous, so the interface is too.
 *
 * Every method throws an LsmError: IoError (code LSM_IO, the system error as `cause`) for
 * operating-system failures, LsmError code LSM_NOT_FOUND for a missing file.
 */

/** A file read with positional reads (SSTables). */
export interface RandomAccessFile {
  readonly path: string;
  /** Size in bytes when opened (tables never change after they are written). */
  readonly size: number;
  /**
   * Reads up to `length` bytes at `position` into `buf[offset..]`; returns the count read,
   * which is smaller than `length` only at end of file.
   */
  read(buf: Uint8Array, offset: number, length: number, position: number): number;
  close(): void;
}

/** A file written strictly by appending (logs, tables while they are built). */
export interface WritableFile {
  readonly path: string;
  /** Bytes appended so far, including any the file held when opened. */
  readonly size: number;
  append(data: Uint8Array): void;
  /** Makes everything appended so far durable (fsync). */
  sync(): void;
  close(): void;
}

/** Held while a database is open; release() frees it. */
export interface FileLock {
  release(): void;
}

export interface FileSystem {
  openRandomAccess(path: string): RandomAccessFile;
  /** Creates or truncates `path` for appending. */
  openWritable(path: string): WritableFile;
  /** Opens `path` for appending after its existing bytes (creates it when missing). */
  openAppendable(path: string): WritableFile;
  readFile(path: string): Uint8Array;
  exists(path: string): boolean;
  /** True when `path` exists and is a directory. */
  isDirectory(path: string): boolean;
  fileSize(path: string): number;
  /** Names (not paths) of the entries in `dir`. */
  list(dir: string): string[];
  mkdir(dir: string): void;
  /** Atomically replaces `to` with `from` (POSIX rename). */
  rename(from: string, to: string): void;
  unlink(path: string): void;
  /** Hard-links `existing` as `newPath`; throws LSM_NOT_SUPPORTED when links are impossible. */
  link(existing: string, newPath: string): void;
  /** Makes the directory's entries (creations, renames, deletions) durable. */
  syncDir(dir: string): void;
  /**
   * Takes the database lock file at `path`. Throws LsmError code LSM_BUSY when another
   * process, or another open Database in this process, holds it.
   */
  lock(path: string): FileLock;
  /** True when background jobs may open this file system's paths from worker threads. */
  readonly sharedWithWorkers: boolean;
}
