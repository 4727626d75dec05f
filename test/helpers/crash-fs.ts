/**
 * A FileSystem wrapper over MemFileSystem that reports every mutating call (file open for
 * writing, append, sync, rename, unlink, link, syncDir) to a hook before and after it runs, so a
 * test can take `crashClone()` at any point inside the engine: in the middle of a flush, between
 * a table's sync and the MANIFEST edit, while CURRENT is replaced, and so on.
 */
import type { FileLock, FileSystem, RandomAccessFile, WritableFile } from '../../src/fs/file-system.js';
import type { MemFileSystem } from '../../src/fs/mem-fs.js';

export type FsEvent = 'openWritable' | 'openAppendable' | 'append' | 'sync' | 'rename' | 'unlink' | 'link' | 'syncDir';

export type FsHook = (phase: 'before' | 'after', event: FsEvent, path: string) => void;

export class CrashFs implements FileSystem {
  readonly sharedWithWorkers = false;
  /** Mutating calls seen so far. */
  events = 0;
  hook: FsHook | undefined;

  constructor(readonly inner: MemFileSystem) {}

  #run<T>(event: FsEvent, path: string, fn: () => T): T {
    this.events++;
    this.hook?.('before', event, path);
    const out = fn();
    this.hook?.('after', event, path);
    return out;
  }

  #wrap(file: WritableFile): WritableFile {
    const run = <T>(event: FsEvent, fn: () => T): T => this.#run(event, file.path, fn);
    return {
      path: file.path,
      get size() {
        return file.size;
      },
      append: (data) => run('append', () => file.append(data)),
      sync: () => run('sync', () => file.sync()),
      close: () => file.close(),
    };
  }

  openRandomAccess(path: string): RandomAccessFile {
    return this.inner.openRandomAccess(path);
  }

  openWritable(path: string): WritableFile {
    return this.#wrap(this.#run('openWritable', path, () => this.inner.openWritable(path)));
  }

  openAppendable(path: string): WritableFile {
    return this.#wrap(this.#run('openAppendable', path, () => this.inner.openAppendable(path)));
  }

  readFile(path: string): Uint8Array {
    return this.inner.readFile(path);
  }

  exists(path: string): boolean {
    return this.inner.exists(path);
  }

  isDirectory(path: string): boolean {
    return this.inner.isDirectory(path);
  }

  fileSize(path: string): number {
    return this.inner.fileSize(path);
  }

  list(dir: string): string[] {
    return this.inner.list(dir);
  }

  mkdir(dir: string): void {
    this.inner.mkdir(dir);
  }

  rename(from: string, to: string): void {
    this.#run('rename', to, () => this.inner.rename(from, to));
  }

  unlink(path: string): void {
    this.#run('unlink', path, () => this.inner.unlink(path));
  }

  link(existing: string, newPath: string): void {
    this.#run('link', newPath, () => this.inner.link(existing, newPath));
  }

  syncDir(dir: string): void {
    this.#run('syncDir', dir, () => this.inner.syncDir(dir));
  }

  lock(path: string): FileLock {
    return this.inner.lock(path);
  }
}
