/**
 * In-memory FileSystem for tests: simulates power loss (crashClone) and injects I/O faults.
 * The model follows LevelDB's fault-injection env and Pebble's strict MemFS (no code taken).
 *
 * Model
 * - A tree of directories holding names of inodes. Paths are POSIX strings resolved against
 *   '/' (relative paths are relative to the root, not the process cwd).
 * - Each file inode has its current bytes and its durable bytes: sync() makes the current bytes
 *   durable. Truncating a file (openWritable on an existing name) does not touch its durable
 *   bytes until the next sync().
 * - Each directory has its current entries and its durable entries: syncDir(dir) makes the
 *   current entries durable (creations, renames into it, unlinks, links). A rename is therefore
 *   durable at the new name after syncDir of the target's parent, and the old name disappears
 *   only after syncDir of the source's parent (until then a crash may show both names).
 *   Directories created by mkdir are durable at once (simplification: the engine never relies
 *   on directory creation surviving a crash without it existing afterwards).
 * - link() is a real hard link: both names share one inode (tables are immutable after close,
 *   so this is equivalent to copying, but cheaper and faithful to POSIX).
 * - crashClone() builds a new file system from the durable state only, as after power loss;
 *   clone() copies everything (as after a process crash: the page cache survives).
 *   Neither carries locks, open handles, fault rules or stats.
 *
 * Errors match NodeFileSystem: LsmError LSM_NOT_FOUND for a missing file or parent directory,
 * IoError (LSM_IO, `cause` carries a Node-style errno `code`) for other failures, LSM_BUSY for
 * a held lock, LSM_NOT_SUPPORTED when hard-linking a directory.
 */
import { posix } from 'node:path';
import { IoError, LsmError } from '../base/errors.js';
import type { FileLock, FileSystem, RandomAccessFile, WritableFile } from './file-system.js';

/** Operations a fault rule can target; 'any' matches all of them. */
export type FaultOp = 'append' | 'sync' | 'read' | 'open' | 'rename' | 'unlink' | 'syncDir' | 'link' | 'mkdir' | 'list' | 'any';

export interface FaultRule {
  op: FaultOp;
  /** Only calls whose path matches (for rename/link: either path). Default: every path. */
  path?: RegExp;
  /** Let this many matching calls succeed before failing. Default 0. */
  after?: number;
  /** Fail this many matching calls, then succeed again. Default: forever. */
  times?: number;
}

export interface FaultHandle {
  /** Removes the rule; calls in flight are unaffected. */
  remove(): void;
  /** Matching calls seen so far (failed or not). */
  readonly calls: number;
  /** Calls this rule has failed. */
  readonly failures: number;
}

export interface CrashCloneOptions {
  /**
   * Torn writes: for each durably named file with unsynced appended bytes, called as
   * `random(u + 1)` where u is the unsynced byte count; must return an integer in [0, u + 1)
   * (e.g. a seeded PRNG's nextInt). The clone keeps that many unsynced bytes after the synced
   * ones. Omit to drop all unsynced bytes. Files truncated since their last sync get their
   * durable bytes only.
   */
  keepUnsyncedFraction?: (n: number) => number;
}

export interface MemFsStats {
  /** Bytes passed to WritableFile.append. */
  bytesWritten: number;
  /** Bytes made durable by WritableFile.sync (newly durable bytes only). */
  bytesSynced: number;
  /** Bytes returned by RandomAccessFile.read and readFile. */
  bytesRead: number;
  appends: number;
  syncs: number;
  dirSyncs: number;
}

class Inode {
  buf: Uint8Array;
  len: number;
  /** Durable bytes are durBuf[0, durLen). durBuf is never written in place except by corrupt(). */
  durBuf: Uint8Array;
  durLen: number;
  /** The current bytes are not an extension of the durable ones (truncated since sync). */
  diverged = false;

  constructor(buf: Uint8Array = new Uint8Array(0), len = 0, durBuf: Uint8Array = buf, durLen = 0) {
    this.buf = buf;
    this.len = len;
    this.durBuf = durBuf;
    this.durLen = durLen;
  }

  append(data: Uint8Array): void {
    const need = this.len + data.length;
    if (need > this.buf.length) {
      // Always a fresh buffer: durBuf may share the old one.
      const grown = new Uint8Array(Math.max(need, this.buf.length * 2, 256));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(data, this.len);
    this.len = need;
  }

  /** O_TRUNC: new empty content; the durable bytes stay until the next sync. */
  truncateToEmpty(): void {
    this.buf = new Uint8Array(0);
    this.len = 0;
    if (this.durLen > 0) this.diverged = true;
  }

  /** Returns the number of newly durable bytes. */
  sync(): number {
    const fresh = this.diverged ? this.len : Math.max(0, this.len - this.durLen);
    this.durBuf = this.buf;
    this.durLen = this.len;
    this.diverged = false;
    return fresh;
  }

  current(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

class Dir {
  readonly children = new Map<string, Node>();
  readonly durable = new Map<string, Node>();
}

type Node = Inode | Dir;

const sortedKeys = <V>(m: Map<string, V>): string[] => [...m.keys()].sort();

function sysError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

function osError(op: string, path: string, code: string): IoError {
  return new IoError(`${op} failed (${code})`, path, { cause: sysError(code) });
}

function notFound(op: string, path: string): LsmError {
  return new LsmError('LSM_NOT_FOUND', `${op}: no such file: ${path}`, { cause: sysError('ENOENT') });
}

interface LiveRule {
  rule: FaultRule;
  calls: number;
  failures: number;
}

/** State shared between a MemFileSystem and its open handles. */
class Env {
  readonly rules: LiveRule[] = [];
  stats: MemFsStats = { bytesWritten: 0, bytesSynced: 0, bytesRead: 0, appends: 0, syncs: 0, dirSyncs: 0 };

  /** Throws an injected IoError when a rule says this call fails. */
  check(op: Exclude<FaultOp, 'any'>, path: string, other?: string): void {
    for (const live of this.rules) {
      const { rule } = live;
      if (rule.op !== 'any' && rule.op !== op) continue;
      if (rule.path !== undefined && path.search(rule.path) < 0 && (other === undefined || other.search(rule.path) < 0)) continue;
      live.calls++;
      if (live.calls <= (rule.after ?? 0)) continue;
      if (live.failures >= (rule.times ?? Infinity)) continue;
      live.failures++;
      throw new IoError(`injected fault: ${op} failed`, path, {
        cause: Object.assign(new Error('injected fault'), { code: 'EIO', injected: true }),
      });
    }
  }
}

class MemRandomAccessFile implements RandomAccessFile {
  readonly size: number;
  #closed = false;

  constructor(readonly path: string, private readonly norm: string, private readonly inode: Inode, private readonly env: Env) {
    this.size = inode.len;
  }

  read(buf: Uint8Array, offset: number, length: number, position: number): number {
    if (this.#closed) throw osError('read', this.path, 'EBADF');
    this.env.check('read', this.norm);
    if (!(offset >= 0 && length >= 0 && position >= 0 && offset + length <= buf.length)) {
      throw osError('read', this.path, 'ERR_OUT_OF_RANGE');
    }
    const { inode } = this;
    if (position >= inode.len) return 0;
    const n = Math.min(length, inode.len - position);
    buf.set(inode.buf.subarray(position, position + n), offset);
    this.env.stats.bytesRead += n;
    return n;
  }

  close(): void {
    this.#closed = true;
  }
}

class MemWritableFile implements WritableFile {
  size: number;
  #closed = false;

  constructor(readonly path: string, private readonly norm: string, private readonly inode: Inode, private readonly env: Env) {
    this.size = inode.len;
  }

  append(data: Uint8Array): void {
    if (this.#closed) throw osError('write', this.path, 'EBADF');
    this.env.check('append', this.norm);
    this.inode.append(data); // copies: callers reuse their buffers
    this.size += data.length;
    this.env.stats.bytesWritten += data.length;
    this.env.stats.appends++;
  }

  sync(): void {
    if (this.#closed) throw osError('fsync', this.path, 'EBADF');
    this.env.check('sync', this.norm);
    this.env.stats.bytesSynced += this.inode.sync();
    this.env.stats.syncs++;
  }

  close(): void {
    this.#closed = true;
  }
}

export class MemFileSystem implements FileSystem {
  readonly sharedWithWorkers = false;
  #root = new Dir();
  #env = new Env();
  #locks = new Set<string>();

  // ---- path resolution ----

  static #normalize(path: string): string {
    return posix.resolve('/', path);
  }

  static #parts(norm: string): string[] {
    return norm === '/' ? [] : norm.slice(1).split('/');
  }

  /** The node at `norm`, or undefined when it (or a parent) is missing or a parent is a file. */
  #find(norm: string): Node | undefined {
    let node: Node = this.#root;
    for (const part of MemFileSystem.#parts(norm)) {
      if (!(node instanceof Dir)) return undefined;
      const next: Node | undefined = node.children.get(part);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  /** The node at `path`; throws LSM_NOT_FOUND when missing, ENOTDIR when a parent is a file. */
  #lookup(op: string, path: string): Node {
    let node: Node = this.#root;
    for (const part of MemFileSystem.#parts(MemFileSystem.#normalize(path))) {
      if (!(node instanceof Dir)) throw osError(op, path, 'ENOTDIR');
      const next: Node | undefined = node.children.get(part);
      if (next === undefined) throw notFound(op, path);
      node = next;
    }
    return node;
  }

  #lookupFile(op: string, path: string): Inode {
    const node = this.#lookup(op, path);
    if (node instanceof Dir) throw osError(op, path, 'EISDIR');
    return node;
  }

  /** The parent directory of `path` (which must exist) and the entry's name. */
  #parent(op: string, path: string): { dir: Dir; name: string } {
    const norm = MemFileSystem.#normalize(path);
    if (norm === '/') throw osError(op, path, 'EBUSY');
    const parent = this.#lookup(op, posix.dirname(norm));
    if (!(parent instanceof Dir)) throw osError(op, path, 'ENOTDIR');
    return { dir: parent, name: posix.basename(norm) };
  }

  // ---- FileSystem ----

  openRandomAccess(path: string): RandomAccessFile {
    const norm = MemFileSystem.#normalize(path);
    this.#env.check('open', norm);
    return new MemRandomAccessFile(path, norm, this.#lookupFile('open', path), this.#env);
  }

  openWritable(path: string): WritableFile {
    return this.#openForWrite(path, true);
  }

  openAppendable(path: string): WritableFile {
    return this.#openForWrite(path, false);
  }

  #openForWrite(path: string, truncate: boolean): WritableFile {
    const norm = MemFileSystem.#normalize(path);
    this.#env.check('open', norm);
    const { dir, name } = this.#parent('open', path);
    let node = dir.children.get(name);
    if (node instanceof Dir) throw osError('open', path, 'EISDIR');
    if (node === undefined) {
      node = new Inode();
      dir.children.set(name, node);
    } else if (truncate) {
      node.truncateToEmpty();
    }
    return new MemWritableFile(path, norm, node, this.#env);
  }

  readFile(path: string): Uint8Array {
    this.#env.check('read', MemFileSystem.#normalize(path));
    const data = this.#lookupFile('read', path).current();
    this.#env.stats.bytesRead += data.length;
    return data;
  }

  exists(path: string): boolean {
    return this.#find(MemFileSystem.#normalize(path)) !== undefined;
  }

  isDirectory(path: string): boolean {
    return this.#find(MemFileSystem.#normalize(path)) instanceof Dir;
  }

  fileSize(path: string): number {
    const node = this.#lookup('stat', path);
    return node instanceof Dir ? 0 : node.len;
  }

  list(dir: string): string[] {
    this.#env.check('list', MemFileSystem.#normalize(dir));
    const node = this.#lookup('readdir', dir);
    if (!(node instanceof Dir)) throw osError('readdir', dir, 'ENOTDIR');
    return sortedKeys(node.children);
  }

  mkdir(dir: string): void {
    const norm = MemFileSystem.#normalize(dir);
    this.#env.check('mkdir', norm);
    const parts = MemFileSystem.#parts(norm);
    let cur = this.#root;
    parts.forEach((part, i) => {
      const next = cur.children.get(part);
      if (next instanceof Dir) {
        cur = next;
      } else if (next !== undefined) {
        throw osError('mkdir', dir, i === parts.length - 1 ? 'EEXIST' : 'ENOTDIR');
      } else {
        const made = new Dir();
        cur.children.set(part, made);
        cur.durable.set(part, made); // directory creation is durable at once (see header)
        cur = made;
      }
    });
  }

  rename(from: string, to: string): void {
    const normFrom = MemFileSystem.#normalize(from);
    const normTo = MemFileSystem.#normalize(to);
    this.#env.check('rename', normFrom, normTo);
    const src = this.#parent('rename', from);
    const node = src.dir.children.get(src.name);
    if (node === undefined) throw notFound('rename', from);
    const dst = this.#parent('rename', to);
    const existing = dst.dir.children.get(dst.name);
    if (existing === node) return; // same name, or two links to one inode: POSIX does nothing
    if (node instanceof Dir) {
      if (normTo.startsWith(`${normFrom}/`)) throw osError('rename', from, 'EINVAL');
      if (existing instanceof Inode) throw osError('rename', from, 'ENOTDIR');
      if (existing instanceof Dir && existing.children.size > 0) throw osError('rename', from, 'ENOTEMPTY');
    } else if (existing instanceof Dir) {
      throw osError('rename', from, 'EISDIR');
    }
    dst.dir.children.set(dst.name, node);
    src.dir.children.delete(src.name);
  }

  unlink(path: string): void {
    this.#env.check('unlink', MemFileSystem.#normalize(path));
    const { dir, name } = this.#parent('unlink', path);
    const node = dir.children.get(name);
    if (node === undefined) throw notFound('unlink', path);
    if (node instanceof Dir) throw osError('unlink', path, 'EISDIR');
    dir.children.delete(name);
  }

  link(existing: string, newPath: string): void {
    this.#env.check('link', MemFileSystem.#normalize(existing), MemFileSystem.#normalize(newPath));
    const node = this.#lookup('link', existing);
    if (node instanceof Dir) {
      throw new LsmError('LSM_NOT_SUPPORTED', `cannot hard-link ${existing} (EPERM)`, { cause: sysError('EPERM') });
    }
    const { dir, name } = this.#parent('link', newPath);
    if (dir.children.has(name)) throw osError('link', existing, 'EEXIST');
    dir.children.set(name, node);
  }

  syncDir(dir: string): void {
    this.#env.check('syncDir', MemFileSystem.#normalize(dir));
    const node = this.#lookup('fsync dir', dir);
    if (!(node instanceof Dir)) throw osError('fsync dir', dir, 'ENOTDIR');
    node.durable.clear();
    for (const [name, child] of node.children) node.durable.set(name, child);
    this.#env.stats.dirSyncs++;
  }

  /** Creates the (empty) lock file when missing, like NodeFileSystem; the hold is in memory. */
  lock(path: string): FileLock {
    const norm = MemFileSystem.#normalize(path);
    if (this.#locks.has(norm)) {
      throw new LsmError('LSM_BUSY', `lock ${path} is held by another open database in this process`);
    }
    const { dir, name } = this.#parent('write lock', path);
    const node = dir.children.get(name);
    if (node instanceof Dir) throw osError('write lock', path, 'EISDIR');
    if (node === undefined) dir.children.set(name, new Inode());
    this.#locks.add(norm);
    let released = false;
    return {
      release: (): void => {
        if (released) return;
        released = true;
        this.#locks.delete(norm);
      },
    };
  }

  // ---- crash simulation ----

  /**
   * A new file system holding only what survives power loss now: for each durable directory
   * entry, the synced bytes of its file (plus a random prefix of the unsynced appended bytes
   * when `keepUnsyncedFraction` is given). Entries never made durable by syncDir are absent;
   * unlinks and renames not made durable are undone. This file system is left unchanged.
   */
  crashClone(options: CrashCloneOptions = {}): MemFileSystem {
    const random = options.keepUnsyncedFraction;
    const inodes = new Map<Inode, Inode>();
    const cloneFile = (src: Inode): Inode => {
      let copy = inodes.get(src);
      if (copy === undefined) {
        let bytes = src.durBuf.slice(0, src.durLen);
        const unsynced = src.len - src.durLen;
        if (random !== undefined && !src.diverged && unsynced > 0) {
          const keep = Math.min(unsynced, Math.max(0, Math.floor(random(unsynced + 1))));
          if (keep > 0) bytes = src.buf.slice(0, src.durLen + keep);
        }
        copy = new Inode(bytes, bytes.length, bytes, bytes.length);
        inodes.set(src, copy);
      }
      return copy;
    };
    const cloneDir = (src: Dir): Dir => {
      const copy = new Dir();
      // Sorted, so a seeded `random` sees a deterministic call order.
      for (const name of sortedKeys(src.durable)) {
        const child = src.durable.get(name);
        if (child === undefined) continue;
        const c = child instanceof Dir ? cloneDir(child) : cloneFile(child);
        copy.children.set(name, c);
        copy.durable.set(name, c);
      }
      return copy;
    };
    const fs = new MemFileSystem();
    fs.#root = cloneDir(this.#root);
    return fs;
  }

  /**
   * An exact copy of the current state, durable and not (what a process crash leaves: the OS
   * still has every write). A later crashClone() of the copy still drops unsynced state.
   */
  clone(): MemFileSystem {
    const nodes = new Map<Node, Node>();
    const copyNode = (src: Node): Node => {
      const seen = nodes.get(src);
      if (seen !== undefined) return seen;
      if (src instanceof Inode) {
        const buf = src.buf.slice(0, src.len);
        const durBuf = src.durBuf === src.buf ? buf : src.durBuf.slice(0, src.durLen);
        const copy = new Inode(buf, src.len, durBuf, src.durLen);
        copy.diverged = src.diverged;
        nodes.set(src, copy);
        return copy;
      }
      const copy = new Dir();
      nodes.set(src, copy);
      for (const [name, child] of src.children) copy.children.set(name, copyNode(child));
      for (const [name, child] of src.durable) copy.durable.set(name, copyNode(child));
      return copy;
    };
    const fs = new MemFileSystem();
    fs.#root = copyNode(this.#root) as Dir;
    return fs;
  }

  // ---- fault injection ----

  /** Makes matching calls throw IoError (LSM_IO, message "injected fault: ..."); nothing is written. */
  injectFault(rule: FaultRule): FaultHandle {
    const live: LiveRule = { rule: { ...rule }, calls: 0, failures: 0 };
    this.#env.rules.push(live);
    const rules = this.#env.rules;
    return {
      remove(): void {
        const i = rules.indexOf(live);
        if (i >= 0) rules.splice(i, 1);
      },
      get calls(): number {
        return live.calls;
      },
      get failures(): number {
        return live.failures;
      },
    };
  }

  clearFaults(): void {
    this.#env.rules.length = 0;
  }

  // ---- test helpers (act on the "disk" directly; no faults) ----

  /**
   * XORs the byte at `offset` with `xorMask`, in the current bytes and, when `offset` is within
   * them, in the durable bytes too (bit rot survives a crash).
   */
  corrupt(path: string, offset: number, xorMask = 0x01): void {
    const inode = this.#lookupFile('corrupt', path);
    if (!Number.isInteger(offset) || offset < 0 || offset >= inode.len) {
      throw new RangeError(`corrupt: offset ${offset} outside ${path} (${inode.len} bytes)`);
    }
    inode.buf[offset] = (inode.buf[offset] ?? 0) ^ xorMask;
    if (inode.durBuf !== inode.buf && offset < inode.durLen) {
      inode.durBuf[offset] = (inode.durBuf[offset] ?? 0) ^ xorMask;
    }
  }

  /**
   * Cuts (or zero-extends) the file to `length` bytes. Durable bytes beyond `length` are cut
   * too; no unsynced byte becomes durable.
   */
  truncate(path: string, length: number): void {
    const inode = this.#lookupFile('truncate', path);
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`truncate: bad length ${length}`);
    const shared = inode.durBuf === inode.buf;
    const buf = new Uint8Array(length);
    buf.set(inode.buf.subarray(0, Math.min(length, inode.len)));
    inode.buf = buf;
    inode.len = length;
    inode.durLen = Math.min(inode.durLen, length);
    if (shared) inode.durBuf = buf;
  }

  /** Full paths of all files (not directories), sorted. */
  fileNames(): string[] {
    const out: string[] = [];
    const walk = (dir: Dir, prefix: string): void => {
      for (const name of sortedKeys(dir.children)) {
        const child = dir.children.get(name);
        const path = `${prefix}/${name}`;
        if (child instanceof Dir) walk(child, path);
        else if (child !== undefined) out.push(path);
      }
    };
    walk(this.#root, '');
    return out.sort();
  }

  stats(): MemFsStats {
    return { ...this.#env.stats };
  }

  resetStats(): void {
    this.#env.stats = { bytesWritten: 0, bytesSynced: 0, bytesRead: 0, appends: 0, syncs: 0, dirSyncs: 0 };
  }
}
