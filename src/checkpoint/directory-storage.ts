/**
 * CheckpointStorage over a local or mounted directory (node:fs promises).
 *
 * Object `a/b/c` is the file `<root>/a/b/c`. Writes go to a temporary sibling whose name ends in
 * `~tmp` (a character object names never contain, so `list` can skip temporaries safely), are
 * fsynced, then renamed into place and the parent directory fsynced: an object is visible only
 * once complete. Uploads running in parallel into one directory share directory fsyncs (a sync
 * that starts after a rename covers it), so a checkpoint of many files does not pay one
 * journal commit per file.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, open, readFile, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LsmError, toIoError } from '../base/errors.js';
import { type CheckpointStorage, type StoredObject, checkObjectName } from './checkpoint-storage.js';

const TEMP_SUFFIX = '~tmp';

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** Opens `path` with `flags` and fsyncs it (a file, or a directory with O_RDONLY). */
export async function fsyncPath(path: string, flags: number): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    await fsyncPath(dir, constants.O_RDONLY);
  } catch (err) {
    // Some platforms/file systems refuse fsync on a directory; the rename is still atomic.
    if (!isErrno(err, 'EISDIR') && !isErrno(err, 'EINVAL') && !isErrno(err, 'EPERM')) throw err;
  }
}

/** Directory fsyncs of one directory: the one running, and the one queued behind it that new callers join. */
interface DirSyncs {
  running: Promise<void> | undefined;
  queued: Promise<void> | undefined;
}

export class DirectoryStorage implements CheckpointStorage {
  readonly root: string;
  readonly description: string;
  readonly #dirSyncs = new Map<string, DirSyncs>();

  constructor(root: string) {
    if (typeof root !== 'string' || root.length === 0) throw new TypeError('storage directory must be a non-empty string');
    this.root = root;
    this.description = `directory:${root}`;
  }

  #path(name: string): string {
    checkObjectName(name);
    return join(this.root, ...name.split('/'));
  }

  async #atomicWrite(name: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.#path(name);
    // A concurrent delete() removes directories it leaves empty: one can vanish between our
    // mkdir and the first file in it. That is ENOENT before anything is visible; start over.
    for (let attempt = 1; ; attempt++) {
      const tmp = `${target}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
      try {
        await mkdir(dirname(target), { recursive: true });
        await write(tmp);
        await fsyncPath(tmp, constants.O_RDWR);
        await rename(tmp, target);
        await this.#syncDir(dirname(target));
        return;
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        if (isErrno(err, 'ENOENT') && attempt < 5) continue;
        throw toIoError(err, `storing ${name}`, target);
      }
    }
  }

  /**
   * Resolves after an fsync of `dir` that started after this call: the queued sync if there is
   * one (it has not started, so it covers the caller's rename), else a new one queued behind the
   * running sync.
   */
  #syncDir(dir: string): Promise<void> {
    let s = this.#dirSyncs.get(dir);
    if (s === undefined) {
      s = { running: undefined, queued: undefined };
      this.#dirSyncs.set(dir, s);
    }
    if (s.queued !== undefined) return s.queued;
    const state = s;
    const queued = (state.running ?? Promise.resolve()).catch(() => undefined).then(() => {
      state.queued = undefined; // renames from now on need a later sync
      const run = fsyncDir(dir);
      state.running = run;
      return run.finally(() => {
        if (state.running === run) state.running = undefined;
        if (state.running === undefined && state.queued === undefined && this.#dirSyncs.get(dir) === state) this.#dirSyncs.delete(dir);
      });
    });
    state.queued = queued;
    return queued;
  }

  async putFile(name: string, localPath: string): Promise<void> {
    await this.#atomicWrite(name, (tmp) => copyFile(localPath, tmp));
  }

  async putBytes(name: string, data: Uint8Array): Promise<void> {
    await this.#atomicWrite(name, async (tmp) => {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(data);
      } finally {
        await fh.close();
      }
    });
  }

  async getBytes(name: string): Promise<Uint8Array> {
    const path = this.#path(name);
    try {
      return new Uint8Array(await readFile(path));
    } catch (err) {
      throw this.#mapReadError(err, name, path);
    }
  }

  async downloadFile(name: string, localPath: string): Promise<void> {
    const path = this.#path(name);
    try {
      // A kernel-side copy (copy_file_range; a reflink where the file system shares extents).
      await copyFile(path, localPath, constants.COPYFILE_FICLONE);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        // The object, or the local directory? Only a missing object is LSM_NOT_FOUND.
        const missing = await stat(path).then(() => false, (e: unknown) => isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR'));
        if (!missing) throw toIoError(err, `writing ${name} to the local file`, localPath);
      }
      throw this.#mapReadError(err, name, path);
    }
  }

  #mapReadError(err: unknown, name: string, path: string): LsmError {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'EISDIR') || isErrno(err, 'ENOTDIR')) {
      return new LsmError('LSM_NOT_FOUND', `object ${name} not found in ${this.description}`, { cause: err });
    }
    return toIoError(err, `reading ${name}`, path);
  }

  async list(prefix: string): Promise<StoredObject[]> {
    // Walk only the deepest directory the prefix names completely.
    const cut = prefix.lastIndexOf('/');
    const dirPart = cut < 0 ? '' : prefix.slice(0, cut);
    if (dirPart !== '') checkObjectName(dirPart);
    const out: StoredObject[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(rel === '' ? this.root : join(this.root, ...rel.split('/')), { withFileTypes: true });
      } catch (err) {
        if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
        throw toIoError(err, 'listing', join(this.root, rel));
      }
      for (const e of entries) {
        if (e.name.endsWith(TEMP_SUFFIX)) continue;
        const name = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) {
          if (prefix.startsWith(`${name}/`) || name.startsWith(prefix)) await walk(name);
        } else if (e.isFile() && name.startsWith(prefix)) {
          try {
            out.push({ name, size: (await stat(join(this.root, ...name.split('/')))).size });
          } catch (err) {
            if (!isErrno(err, 'ENOENT')) throw toIoError(err, 'listing', name);
          }
        }
      }
    };
    await walk(dirPart);
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return out;
  }

  async delete(name: string): Promise<void> {
    const path = this.#path(name);
    try {
      await unlink(path);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw toIoError(err, `deleting ${name}`, path);
    }
    // Remove directories the delete left empty (full/<id>/), never the root.
    let dir = dirname(path);
    for (let parts = name.split('/').length - 1; parts > 0; parts--) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty, or gone: either way stop
      }
      dir = dirname(dir);
    }
  }

  async close(): Promise<void> {
    // nothing held open
  }
}
