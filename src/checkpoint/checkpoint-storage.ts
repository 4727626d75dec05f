/**
 * Where checkpoints live: a flat namespace of objects with plain names (letters, digits, '.',
 * '-', '_', and '/' as a separator; never '..', never a leading '/'). Implementations: a local or
 * mounted directory (directory-storage.ts) and an S3-compatible object store (s3-storage.ts).
 *
 * Contract every implementation keeps (checked by test/unit/checkpoint/storage-contract.ts):
 * - `putFile`/`putBytes` make an object visible only once it is complete (write to a temporary
 *   name and rename, or a single/multipart upload that becomes visible on completion);
 * - `get*` of a missing object reports LsmError code LSM_NOT_FOUND;
 * - failures are LsmError code LSM_IO with the cause attached; retries of transient failures
 *   happen inside the implementation;
 * - `list(prefix)` returns every complete object whose name starts with `prefix`.
 */

export interface StoredObject {
  name: string;
  size: number;
}

export interface CheckpointStorage {
  /** Human-readable location, for messages and the CLI. */
  readonly description: string;
  /** Uploads the local file at `localPath` as `name`. */
  putFile(name: string, localPath: string): Promise<void>;
  /** Stores `data` as `name` (small objects: checkpoint metadata). */
  putBytes(name: string, data: Uint8Array): Promise<void>;
  getBytes(name: string): Promise<Uint8Array>;
  /** Downloads `name` to the local file `localPath` (created or replaced). */
  downloadFile(name: string, localPath: string): Promise<void>;
  list(prefix: string): Promise<StoredObject[]>;
  /** Deletes `name`; deleting a missing object is not an error. */
  delete(name: string): Promise<void>;
  close(): Promise<void>;
}

const NAME = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** Throws RangeError unless `name` is a plain object name (no path escapes). */
export function checkObjectName(name: string): void {
  if (typeof name !== 'string') throw new TypeError('object name must be a string');
  if (!NAME.test(name) || name.split('/').some((part) => part === '.' || part === '..')) {
    throw new RangeError(`invalid object name ${JSON.stringify(name)}`);
  }
}
