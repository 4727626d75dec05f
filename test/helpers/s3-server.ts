import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Credentials s3rver accepts (it checks signatures against these fixed keys). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface TestS3Server {
  /** `http://127.0.0.1:PORT`, for an S3 client with `forcePathStyle: true`. */
  endpoint: string;
  bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Stops the server (its port then refuses connections) and removes its directory; idempotent. */
  stop(): Promise<void>;
}

/*
 * s3rver runs in a child Node process, not in the test's: its ListObjectsV2 continuation tokens
 * are DES-encrypted, and Node 17+ (OpenSSL 3) only has DES with --openssl-legacy-provider, so a
 * truncated listing is a 500 InternalError in-process. The child also keeps s3rver's logger and
 * deprecation warnings out of the test output, and exits when its stdin closes (the test process
 * ended), so it never outlives the test run.
 */
const CHILD = `
const S3rver = require(process.argv[1]);
const [directory, bucket] = [process.argv[2], process.argv[3]];
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory,
  configureBuckets: [{ name: bucket, configs: [] }] });
server.run().then(
  (a) => process.stdout.write(JSON.stringify({ port: a.port }) + '\\n'),
  (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

const s3rverMain = createRequire(import.meta.url).resolve('s3rver');

function launch(flags: string[], directory: string, bucket: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, '-e', CHILD, s3rverMain, directory, bucket], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`s3rver did not start within 15 s: ${err}`));
    }, 15_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      resolve({ child, port: (JSON.parse(out.slice(0, nl)) as { port: number }).port });
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited (${code ?? signal}) before listening: ${err}`));
    });
  });
}

/**
 * Starts a fake S3 (s3rver) on 127.0.0.1 with an ephemeral port and a fresh temp directory, with
 * `bucket` already created. Loopback only.
 */
export async function startS3Server(bucket = 'ckpt-test'): Promise<TestS3Server> {
  const directory = mkdtempSync(join(tmpdir(), 'lsm-s3rver-'));
  let started: { child: ChildProcess; port: number };
  try {
    try {
      started = await launch(['--openssl-legacy-provider'], directory, bucket);
    } catch {
      // A Node built without the flag: everything but paginated listings still works.
      started = await launch([], directory, bucket);
    }
  } catch (err) {
    rmSync(directory, { recursive: true, force: true });
    throw err;
  }
  const { child, port } = started;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: 'us-east-1',
    credentials: { ...S3RVER_CREDENTIALS },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.stdin!.end();
      }).finally(() => rmSync(directory, { recursive: true, force: true }));
      return stopped;
    },
  };
}
