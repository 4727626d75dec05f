/**
 * CheckpointStorage on an S3-compatible object store (AWS S3, MinIO, s3rver, ...), through
 * `@aws-sdk/client-s3`. Object key = `prefix + name` (the prefix is used verbatim: give it a
 * trailing '/' to get a "directory").
 *
 * - `putBytes` is one PutObject; `putFile` streams the file through `@aws-sdk/lib-storage`'s
 *   `Upload`, which sends one PutObject for files up to `partSizeBytes` and a multipart upload
 *   (parts of `partSizeBytes`, aborted on failure) above it. Either way the object becomes
 *   visible only when complete.
 * - `downloadFile` streams into a temporary file beside `localPath`, flushes it and renames it
 *   over `localPath`, so `localPath` is never left half-written.
 * - Transient failures (network errors, throttling, 5xx) are retried by the SDK's standard retry
 *   strategy, `maxAttempts` attempts in all (default 5); a GET whose body breaks off part-way is
 *   issued again, also up to `maxAttempts` times.
 * - A missing object (NoSuchKey / 404) on `getBytes`/`downloadFile` is LsmError LSM_NOT_FOUND;
 *   every other failure is LsmError LSM_IO with the SDK or system error as `cause`.
 */

import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ClosedError, LsmError, toIoError } from '../base/errors.js';
import { checkObjectName, type CheckpointStorage, type StoredObject } from './checkpoint-storage.js';

/** S3's (and lib-storage's) smallest allowed multipart part, except the last. */
export const S3_MIN_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const DEFAULT_MAX_ATTEMPTS = 5;

export interface S3StorageOptions extends S3ClientConfig {
  bucket: string;
  /** Prepended verbatim to every object name to form the key (default ''). */
  prefix?: string;
  region?: string;
  /** e.g. 'http://127.0.0.1:9000' for MinIO or s3rver. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`); needed by most S3-compatible servers. */
  forcePathStyle?: boolean;
  /** Total attempts per request, first try included (default 5). */
  maxAttempts?: number;
  /** Multipart threshold and part size for `putFile` (default 8 MiB, at least 5 MiB). */
  partSizeBytes?: number;
  /** Parts uploaded concurrently by a multipart `putFile` (default 4). */
  uploadConcurrency?: number;
  /** MaxKeys per ListObjectsV2 page (default: the server's, 1000 on S3). */
  listPageSize?: number;
}

export class S3Storage implements CheckpointStorage {
  readonly description: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly partSizeBytes: number;
  /** The underlying client (for middleware, metrics or tests); owned by this storage. */
  readonly client: S3Client;
  readonly maxAttempts: number;
  private readonly uploadConcurrency: number;
  private readonly listPageSize: number | undefined;
  private closed = false;

  constructor(options: S3StorageOptions) {
    const {
      bucket,
      prefix = '',
      partSizeBytes = DEFAULT_PART_SIZE,
      uploadConcurrency = 4,
      listPageSize,
      maxAttempts = DEFAULT_MAX_ATTEMPTS,
      ...clientConfig
    } = options;
    if (typeof bucket !== 'string' || bucket === '') throw new TypeError('S3Storage: bucket is required');
    if (typeof prefix !== 'string' || prefix.startsWith('/')) {
      throw new RangeError(`S3Storage: invalid prefix ${JSON.stringify(prefix)}`);
    }
    if (!Number.isSafeInteger(partSizeBytes) || partSizeBytes < S3_MIN_PART_SIZE) {
      throw new RangeError(`S3Storage: partSizeBytes must be an integer >= ${S3_MIN_PART_SIZE} (got ${partSizeBytes})`);
    }
    if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
      throw new RangeError(`S3Storage: maxAttempts must be an integer >= 1 (got ${maxAttempts})`);
    }
    if (!Number.isSafeInteger(uploadConcurrency) || uploadConcurrency < 1) {
      throw new RangeError(`S3Storage: uploadConcurrency must be an integer >= 1 (got ${uploadConcurrency})`);
    }
    if (listPageSize !== undefined && (!Number.isSafeInteger(listPageSize) || listPageSize < 1 || listPageSize > 1000)) {
      throw new RangeError(`S3Storage: listPageSize must be an integer in 1..1000 (got ${listPageSize})`);
    }
    this.bucket = bucket;
    this.prefix = prefix;
    this.partSizeBytes = partSizeBytes;
    this.maxAttempts = maxAttempts;
    this.uploadConcurrency = uploadConcurrency;
    this.listPageSize = listPageSize;
    this.client = new S3Client({ ...clientConfig, maxAttempts });
    const where = typeof clientConfig.endpoint === 'string' ? ` at ${clientConfig.endpoint}` : '';
    this.description = `s3://${bucket}/${prefix}${where}`;
  }

  async putFile(name: string, localPath: string): Promise<void> {
    const key = this.key(name);
    this.checkOpen();
    let size: number;
    try {
      size = (await stat(localPath)).size;
    } catch (err) {
      throw toIoError(err, 'stat', localPath);
    }
    const body = createReadStream(localPath);
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: key, Body: body, ContentLength: size },
        partSize: this.partSizeBytes,
        queueSize: this.uploadConcurrency,
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (err) {
      throw this.ioError(err, 'upload', key);
    } finally {
      body.destroy();
    }
  }

  async putBytes(name: string, data: Uint8Array): Promise<void> {
    const key = this.key(name);
    this.checkOpen();
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentLength: data.byteLength }));
    } catch (err) {
      throw this.ioError(err, 'PutObject', key);
    }
  }

  async getBytes(name: string): Promise<Uint8Array> {
    const key = this.key(name);
    this.checkOpen();
    return this.readObject(key, async (body) => {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of body) chunks.push(chunk as Buffer);
      } catch (err) {
        throw new BodyReadError(err);
      }
      const all = Buffer.concat(chunks);
      return new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
    });
  }

  async downloadFile(name: string, localPath: string): Promise<void> {
    const key = this.key(name);
    this.checkOpen();
    const tmp = join(dirname(localPath), `.${basename(localPath)}.${randomBytes(6).toString('hex')}.download`);
    let created = false;
    try {
      await this.readObject(key, async (body) => {
        created = true;
        const out = createWriteStream(tmp, { flush: true });
        // Whichever side fails first decides: the network's (retried) or the local disk's.
        let first: { side: 'read' | 'write'; err: unknown } | undefined;
        body.once('error', (err) => (first ??= { side: 'read', err }));
        out.once('error', (err) => (first ??= { side: 'write', err }));
        try {
          await pipeline(body, out);
        } catch (err) {
          if (first?.side === 'write') throw toIoError(first.err, 'write', tmp);
          throw new BodyReadError(first?.err ?? err);
        }
      });
      try {
        await rename(tmp, localPath);
      } catch (err) {
        throw toIoError(err, 'rename', localPath);
      }
      created = false;
    } finally {
      if (created) await unlink(tmp).catch(() => undefined);
    }
  }

  /**
   * GetObject `key` and hand its body to `consume`. The SDK retries the request itself; a body
   * that fails part-way (`consume` throws BodyReadError) is fetched again, up to maxAttempts
   * GETs in all.
   */
  private async readObject<T>(key: string, consume: (body: Readable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let body: Readable;
      try {
        const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        body = res.Body instanceof Readable ? res.Body : Readable.from([]);
      } catch (err) {
        throw this.getError(err, key);
      }
      try {
        return await consume(body);
      } catch (err) {
        body.destroy();
        if (!(err instanceof BodyReadError)) throw err;
        this.checkOpen();
        if (attempt >= this.maxAttempts) {
          throw this.ioError(err.cause, `GetObject (body read, ${attempt} attempts)`, key);
        }
        await delay(Math.min(100 * 2 ** (attempt - 1), 2_000) * (0.5 + Math.random() / 2));
      }
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    if (typeof prefix !== 'string') throw new TypeError('list prefix must be a string');
    this.checkOpen();
    const out: StoredObject[] = [];
    let token: string | undefined;
    do {
      let res;
      try {
        res = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ContinuationToken: token,
            MaxKeys: this.listPageSize,
          }),
        );
      } catch (err) {
        throw this.ioError(err, 'ListObjectsV2', this.prefix + prefix);
      }
      for (const obj of res.Contents ?? []) {
        if (obj.Key === undefined || !obj.Key.startsWith(this.prefix)) continue;
        out.push({ name: obj.Key.slice(this.prefix.length), size: obj.Size ?? 0 });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }

  async delete(name: string): Promise<void> {
    const key = this.key(name);
    this.checkOpen();
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw this.ioError(err, 'DeleteObject', key);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
  }

  private key(name: string): string {
    checkObjectName(name);
    return this.prefix + name;
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('checkpoint storage');
  }

  private getError(err: unknown, key: string): LsmError {
    if (LsmError.is(err)) return err;
    if (isNotFound(err)) {
      return new LsmError('LSM_NOT_FOUND', `no object s3://${this.bucket}/${key}`, { cause: err });
    }
    return this.ioError(err, 'GetObject', key);
  }

  private ioError(err: unknown, operation: string, key: string): LsmError {
    if (LsmError.is(err)) return err;
    const e = err as { name?: unknown; message?: unknown; code?: unknown; $metadata?: { attempts?: number } };
    const what = typeof e.name === 'string' && e.name !== 'Error' ? e.name : typeof e.code === 'string' ? e.code : 'error';
    const detail = typeof e.message === 'string' && e.message !== '' ? `: ${e.message}` : '';
    const attempts = e.$metadata?.attempts;
    const tries = attempts !== undefined && attempts > 1 ? ` after ${attempts} attempts` : '';
    return new LsmError('LSM_IO', `S3 ${operation} s3://${this.bucket}/${key} failed${tries} (${what})${detail}`, { cause: err });
  }
}

/** The object's body stream failed part-way (connection reset, truncated response). */
class BodyReadError extends Error {
  constructor(cause: unknown) {
    super('object body read failed', { cause });
  }
}

/** NoSuchKey, or a bare 404 (HEAD-style responses), but not a missing bucket. */
function isNotFound(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'NoSuchKey' || e.Code === 'NoSuchKey' || e.name === 'NotFound') return true;
  if (e.name === 'NoSuchBucket' || e.Code === 'NoSuchBucket') return false;
  return e.$metadata?.httpStatusCode === 404;
}

/** A CheckpointStorage on S3 (or an S3-compatible server); see S3StorageOptions. */
export function s3Storage(options: S3StorageOptions): CheckpointStorage {
  return new S3Storage(options);
}
