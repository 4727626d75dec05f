/**
 * `CheckpointStorage.directory(path)` and `CheckpointStorage.s3(options)`: the value side of the
 * `CheckpointStorage` name; the interface is in checkpoint-storage.ts.
 */
import type { CheckpointStorage as CheckpointStorageType } from './checkpoint-storage.js';
import { DirectoryStorage } from './directory-storage.js';
import { type S3StorageOptions, s3Storage } from './s3-storage.js';

export const CheckpointStorage = {
  /** A local or mounted directory (created on first write). */
  directory(path: string): CheckpointStorageType {
    return new DirectoryStorage(path);
  },
  /** An S3-compatible bucket: `{ bucket, prefix?, region?, endpoint?, forcePathStyle?, credentials?, ... }`. */
  s3(options: S3StorageOptions): CheckpointStorageType {
    return s3Storage(options);
  },
};

export type CheckpointStorage = CheckpointStorageType;
