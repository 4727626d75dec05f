/**
 * FileSystem over Node's synchronous fs calls. Reads and appends are positional `readSync` /
 * `writeSync` on kept-open descriptors: no thread-pool hop on the data path.
 */
import * as nodeFs from 'node:fs';
import { resolve } from 'node:path';
import { LsmError, toIoError } from '../base/errors.js';
import type { FileLock, FileSystem, RandomAccessFile, WritableFile } from './file-system.js';

function wrap<T>(operation: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') {
      throw new LsmError('LSM_NOT_FOUND', `${operation}: no such file: ${path}`, { cause: err });
    }
    throw toIoError(err, operation, path);
  }
}

class NodeRandomAccessFile implements RandomAccessFile {
  readonly size: number;
  #fd: number;

  constructor(readonly path: string) {
    this.#fd = wrap('open', path, () => nodeFs.openSync(path, 'r'));
    this.size = wrap('fstat', path, () => nodeFs.fstatSync(this.#fd).size);
  }

  read(buf: Uint8Array, offset: number, length: number, position: number): number {
    let done = 0;
    while (done < length) {
      const n = wrap('read', this.path, () => nodeFs.readSync(this.#fd, buf, offset + done, length - done, position + done));
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    wrap('close', this.path, () => nodeFs.closeSync(fd));
  }
}

class NodeWritableFile implements WritableFile {
  size: number;
  #fd: number;

  constructor(readonly path: string, append: boolean) {
    this.#fd = wrap('open', path, () => nodeFs.openSync(path, append ? 'a' : 'w'));
    this.size = append ? wrap('fstat', path, () => nodeFs.fstatSync(this.#fd).size) : 0;
  }

  append(data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      done += wrap('write', this.path, () => nodeFs.writeSync(this.#fd, data, done, data.length - done));
    }
    this.size += data.length;
  }

  sync(): void {
    wrap('fsync', this.path, () => nodeFs.fdatasyncSync(this.#fd));
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    wrap('close', this.path, () => nodeFs.closeSync(fd));
  }
}

/** Lock files held by this process, so a second open in the same process is refused too. */
const heldLocks = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/**
 * Node has no flock/fcntl, so the LOCK file holds the owner's pid: a lock whose pid is alive
 * (and is not this process, or is this process with the path held) is busy. A LOCK left by a
 * crashed process, or by LevelDB (which leaves an empty LOCK file), is taken over.
 */
function takeLock(path: string): FileLock {
  const key = resolve(path);
  if (heldLocks.has(key)) {
    throw new LsmError('LSM_BUSY', `lock ${path} is held by another open database in this process`);
  }
  let owner = NaN;
  try {
    owner = Number.parseInt(nodeFs.readFileSync(path, 'utf8').trim(), 10);
  } catch {
    // missing or unreadable: nobody holds it
  }
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
    throw new LsmError('LSM_BUSY', `lock ${path} is held by process ${owner}`);
  }
  wrap('write lock', path, () => nodeFs.writeFileSync(path, `${process.pid}\n`));
  heldLocks.add(key);
  let released = false;
  return {
    release(): void {
      if (released) return;
      released = true;
      heldLocks.delete(key);
      try {
        nodeFs.writeFileSync(path, '');
      } catch {
        // the directory may be gone (tests remove it); the in-process hold is what matters
      }
    },
  };
}

export class NodeFileSystem implements FileSystem {
  readonly sharedWithWorkers = true;

  openRandomAccess(path: string): RandomAccessFile {
    return new NodeRandomAccessFile(path);
  }

  openWritable(path: string): WritableFile {
    return new NodeWritableFile(path, false);
  }

  openAppendable(path: string): WritableFile {
    return new NodeWritableFile(path, true);
  }

  readFile(path: string): Uint8Array {
    return wrap('read', path, () => nodeFs.readFileSync(path));
  }

  exists(path: string): boolean {
    return nodeFs.existsSync(path);
  }

  isDirectory(path: string): boolean {
    try {
      return nodeFs.statSync(path).isDirectory();
    } catch {
      return false;
    }
  }

  fileSize(path: string): number {
    return wrap('stat', path, () => nodeFs.statSync(path).size);
  }

  list(dir: string): string[] {
    return wrap('readdir', dir, () => nodeFs.readdirSync(dir));
  }

  mkdir(dir: string): void {
    wrap('mkdir', dir, () => nodeFs.mkdirSync(dir, { recursive: true }));
  }

  rename(from: string, to: string): void {
    wrap('rename', from, () => nodeFs.renameSync(from, to));
  }

  unlink(path: string): void {
    wrap('unlink', path, () => nodeFs.unlinkSync(path));
  }

  link(existing: string, newPath: string): void {
    try {
      nodeFs.linkSync(existing, newPath);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EXDEV' || code === 'EPERM' || code === 'ENOTSUP' || code === 'EMLINK') {
        throw new LsmError('LSM_NOT_SUPPORTED', `cannot hard-link ${existing} (${code})`, { cause: err });
      }
      throw toIoError(err, 'link', existing);
    }
  }

  syncDir(dir: string): void {
    wrap('fsync dir', dir, () => {
      const fd = nodeFs.openSync(dir, 'r');
      try {
        nodeFs.fsyncSync(fd);
      } finally {
        nodeFs.closeSync(fd);
      }
    });
  }

  lock(path: string): FileLock {
    return takeLock(path);
  }
}

export const nodeFileSystem = new NodeFileSystem();
