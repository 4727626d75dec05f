/**
 * `CheckpointStorage.directory(path)` (and, with s3-storage.ts, `CheckpointStorage.s3(...)`):
 * the value side of the `CheckpointStorage` name; the interface is in checkpoint-storage.ts.
 */
import type { CheckpointStorage as CheckpointStorageType } from './checkpoint-storage.js';
import { DirectoryStorage } from './directory-storage.js';

export const CheckpointStorage = {
  /** A local or mounted directory (created on first write). */
  directory(path: string): CheckpointStorageType {
    return new DirectoryStorage(path);
  },
  // s3(options): added by s3-storage.ts's author (issue #4): `s3(options: S3StorageOptions): CheckpointStorageType`.
};

export type CheckpointStorage = CheckpointStorageType;
