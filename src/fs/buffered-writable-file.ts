/**
 * A WritableFile that gathers appends in a reused user-space buffer and passes them to the
 * underlying file in large writes. One write(2) per small WAL record would cap single puts at
 * a few hundred thousand a second; gathering them moves that cost off the data path.
 *
 * Requires: the owner calls `flushBuffer()` at the points where buffered bytes must reach the
 * operating system (the database does so at the end of every event-loop turn, before every
 * sync, on close and at process exit: see docs/architecture.md, "WAL durability").
 */
import type { WritableFile } from './file-system.js';

export class BufferedWritableFile implements WritableFile {
  readonly #inner: WritableFile;
  readonly #buf: Uint8Array;
  #used = 0;

  constructor(inner: WritableFile, bufferBytes: number) {
    this.#inner = inner;
    this.#buf = new Uint8Array(bufferBytes);
  }

  get path(): string {
    return this.#inner.path;
  }

  get size(): number {
    return this.#inner.size + this.#used;
  }

  /** Bytes appended but not yet handed to the underlying file. */
  get bufferedBytes(): number {
    return this.#used;
  }

  append(data: Uint8Array): void {
    if (this.#used + data.length > this.#buf.length) {
      this.flushBuffer();
      if (data.length >= this.#buf.length) {
        this.#inner.append(data);
        return;
      }
    }
    this.#buf.set(data, this.#used);
    this.#used += data.length;
  }

  /** Hands every buffered byte to the underlying file (the OS page cache for Node files). */
  flushBuffer(): void {
    if (this.#used === 0) return;
    const n = this.#used;
    this.#used = 0;
    this.#inner.append(this.#buf.subarray(0, n));
  }

  sync(): void {
    this.flushBuffer();
    this.#inner.sync();
  }

  close(): void {
    this.flushBuffer();
    this.#inner.close();
  }
}
