/**
 * The checkpoint commands of `lsm-state` (main.ts dispatches here):
 *
 *   checkpoints <storage> [--chain c]     list: chain, id, time, files, uploaded/referenced bytes, mode, parent
 *   inspect <storage> <id|latest>         one checkpoint's files: sizes, new (uploaded by it) or reused
 *   verify <storage> [id|latest]          read every referenced file, check size and CRC32C
 *   restore <storage> <id|latest> <dir>   restoreCheckpoint into an empty <dir>
 *
 * `--chain <name>` selects a named chain (checkpoints/<name>/<id>.meta); without it an id names a
 * checkpoint of the unnamed chain (checkpoints/<id>.meta). `checkpoints` and `verify` without an
 * id and without --chain cover every chain.
 *
 * <storage> is a directory path, or s3://bucket/prefix: endpoint from LSM_STATE_S3_ENDPOINT
 * (path-style addressing when set), region and credentials from the standard AWS environment
 * (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...).
 *
 * Long operations (verify, restore) draw a progress bar (cli-progress) when stdout is a terminal
 * and print nothing but their result otherwise.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { LsmError } from '../base/errors.js';
import type { CheckpointStorage } from '../checkpoint/checkpoint-storage.js';
import { DirectoryStorage } from '../checkpoint/directory-storage.js';
import { fileCrc32c } from '../checkpoint/file-crc.js';
import { type CheckpointMetadata, isChainName, listMetadataObjects } from '../checkpoint/metadata.js';
import { runPool } from '../checkpoint/pool.js';
import { readCheckpointMetadata, restoreCheckpoint } from '../checkpoint/restore.js';
import { S3Storage } from '../checkpoint/s3-storage.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Whether to draw progress bars (default: stdout is a terminal). */
  progress?: boolean;
}

export const consoleIo: CliIo = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

export class UsageError extends Error {
  override name = 'UsageError';
}

export const CHECKPOINT_USAGE = `  checkpoints <storage> [--chain NAME] [--json]
                  list checkpoints of every chain (or one): chain, id, time, files, uploaded
                  bytes (files this checkpoint uploaded), referenced bytes (files reused from
                  earlier ones), mode, parent
  inspect <storage> <id|latest> [--chain NAME] [--json]
                  one checkpoint's files with sizes, new or reused (uploadedBy), and its parent
  verify <storage> [id|latest] [--chain NAME] [--concurrency N]
                  read every file the checkpoint (default: every checkpoint of the chain, or of
                  every chain without --chain) references and check its size and CRC32C; exit 1
                  naming each mismatch
  restore <storage> <id|latest> <dir> [--chain NAME] [--mode claim|no-claim] [--concurrency N]
                  restore a checkpoint into <dir> (missing or empty); Database.open opens it

  <storage> is a directory or s3://bucket/prefix (endpoint: LSM_STATE_S3_ENDPOINT, credentials
  and region: the standard AWS environment variables). --chain NAME selects a named chain
  (checkpoints/NAME/<id>.meta); without it an id is one of the unnamed chain (checkpoints/<id>.meta).`;

/** Opens the storage named on the command line. */
export function openStorage(spec: string, env: NodeJS.ProcessEnv = process.env): CheckpointStorage {
  if (spec.startsWith('s3://')) {
    const rest = spec.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    let prefix = slash < 0 ? '' : rest.slice(slash + 1);
    if (bucket === '') throw new UsageError(`no bucket in ${JSON.stringify(spec)} (expected s3://bucket/prefix)`);
    if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
    const endpoint = env.LSM_STATE_S3_ENDPOINT || undefined;
    return new S3Storage({
      bucket,
      prefix,
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
      ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
    });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new UsageError(`unsupported storage ${JSON.stringify(spec)} (a directory or s3://bucket/prefix)`);
  return new DirectoryStorage(spec);
}

function parseId(s: string | undefined, what = 'checkpoint id'): number | 'latest' {
  if (s === 'latest') return 'latest';
  if (s === undefined || !/^\d{1,15}$/.test(s)) throw new UsageError(`${what} must be a number or 'latest', got ${JSON.stringify(s)}`);
  return Number(s);
}

function parseChain(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  if (!isChainName(s)) throw new UsageError(`--chain must be a chain name (letters, digits, '.', '_', '-'), got ${JSON.stringify(s)}`);
  return s;
}

/** `5` for the unnamed chain, `orders/5` for chain `orders`. */
function label(chain: string | null | undefined, id: number | 'latest'): string {
  return chain === null || chain === undefined ? String(id) : `${chain}/${id}`;
}

function parseConcurrency(s: string | undefined): number {
  if (s === undefined) return 4;
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 1 || n > 256) throw new UsageError(`--concurrency must be an integer in 1..256, got ${JSON.stringify(s)}`);
  return n;
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]!}`;
}

function table(header: string[], rows: string[][], leftColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < leftColumns || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export interface CheckpointSummary {
  /** null: the unnamed chain. */
  chain: string | null;
  checkpointId: number;
  createdAt: string;
  files: number;
  newFiles: number;
  uploadedBytes: number;
  referencedBytes: number;
  mode: string;
  parentId: number | null;
}

export function summarize(meta: CheckpointMetadata): CheckpointSummary {
  let uploadedBytes = 0;
  let referencedBytes = 0;
  let newFiles = 0;
  for (const f of meta.files) {
    if (f.uploadedBy === meta.checkpointId) {
      uploadedBytes += f.size;
      newFiles++;
    } else {
      referencedBytes += f.size;
    }
  }
  return {
    chain: meta.chain ?? null,
    checkpointId: meta.checkpointId,
    createdAt: new Date(meta.createdAt).toISOString(),
    files: meta.files.length,
    newFiles,
    uploadedBytes,
    referencedBytes,
    mode: meta.mode,
    parentId: meta.parentId,
  };
}

function showProgress(io: CliIo): boolean {
  return io.progress ?? process.stdout.isTTY === true;
}

/** A byte-count progress bar, or a no-op when output is not a terminal. */
function progressBar(io: CliIo, label: string, totalBytes: number, totalFiles: number): { add(bytes: number): void; stop(): void } {
  if (!showProgress(io)) return { add: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {done}/{total_bytes} | {files}/{total_files} files | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let bytes = 0;
  let files = 0;
  bar.start(Math.max(totalBytes, 1), 0, { done: fmtBytes(0), total_bytes: fmtBytes(totalBytes), files: 0, total_files: totalFiles });
  return {
    add(n: number) {
      bytes += n;
      files++;
      bar.update(Math.min(bytes, Math.max(totalBytes, 1)), { done: fmtBytes(bytes), files });
    },
    stop() {
      bar.stop();
    },
  };
}

async function withStorage<T>(spec: string, fn: (s: CheckpointStorage) => Promise<T>): Promise<T> {
  const storage = openStorage(spec);
  try {
    return await fn(storage);
  } finally {
    await storage.close().catch(() => undefined);
  }
}

/** Metadata objects of one chain, or of every chain (`chain` undefined), by chain then id. */
async function checkpointsOf(storage: CheckpointStorage, chain: string | undefined): Promise<{ chain: string | null; checkpointId: number }[]> {
  const all = await listMetadataObjects(storage);
  return chain === undefined ? all : all.filter((o) => o.chain === chain);
}

async function listCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args, allowPositionals: true, strict: true, options: { json: { type: 'boolean' }, chain: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('usage: lsm-state checkpoints <storage> [--chain NAME] [--json]');
  const chain = parseChain(values.chain);
  return withStorage(positionals[0]!, async (storage) => {
    const summaries: CheckpointSummary[] = [];
    const broken: string[] = [];
    for (const o of await checkpointsOf(storage, chain)) {
      try {
        summaries.push(summarize(await readCheckpointMetadata(storage, o.checkpointId, o.chain === null ? {} : { chain: o.chain })));
      } catch (err) {
        // A checkpoint deleted by retention between list and read is not an error.
        if (LsmError.is(err, 'LSM_NOT_FOUND')) continue;
        broken.push(`checkpoint ${label(o.chain, o.checkpointId)}: ${(err as Error).message}`);
      }
    }
    if (values.json === true) {
      io.out(JSON.stringify(summaries, null, 2));
    } else if (summaries.length === 0) {
      io.out(`no checkpoints${chain === undefined ? '' : ` of chain ${chain}`} in ${storage.description}`);
    } else {
      io.out(table(
        ['chain', 'id', 'time', 'files', 'new', 'uploaded', 'referenced', 'mode', 'parent'],
        summaries.map((s) => [
          s.chain ?? '-', String(s.checkpointId), s.createdAt, String(s.files), String(s.newFiles), fmtBytes(s.uploadedBytes),
          fmtBytes(s.referencedBytes), s.mode, s.parentId === null ? '-' : String(s.parentId),
        ]),
        3,
      ));
      const chains = new Map<string, number>();
      for (const s of summaries) chains.set(s.chain ?? '-', (chains.get(s.chain ?? '-') ?? 0) + 1);
      io.out(`\n${chains.size} chain(s): ${[...chains].map(([c, n]) => `${c === '-' ? '(unnamed)' : c} (${n})`).join(', ')}`);
    }
    for (const b of broken) io.err(`lsm-state: ${b}`);
    return broken.length > 0 ? 1 : 0;
  });
}

async function inspectCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args, allowPositionals: true, strict: true, options: { json: { type: 'boolean' }, chain: { type: 'string' } },
  });
  if (positionals.length !== 2) throw new UsageError('usage: lsm-state inspect <storage> <id|latest> [--chain NAME] [--json]');
  const id = parseId(positionals[1]);
  const chain = parseChain(values.chain);
  return withStorage(positionals[0]!, async (storage) => {
    const meta = await readCheckpointMetadata(storage, id, chain === undefined ? {} : { chain });
    if (values.json === true) {
      io.out(JSON.stringify({ ...meta, summary: summarize(meta) }, null, 2));
      return 0;
    }
    const s = summarize(meta);
    io.out([
      `checkpoint ${meta.checkpointId} in ${storage.description}`,
      `  chain         ${meta.chain ?? '- (unnamed)'}`,
      `  time          ${s.createdAt}`,
      `  mode          ${meta.mode}`,
      `  parent        ${meta.parentId === null ? '-' : meta.parentId}`,
      `  database      ${meta.dbId}`,
      `  last sequence ${meta.lastSequence}`,
      ...(meta.restoredFrom === null ? [] : [`  restored from checkpoint ${label(meta.restoredFrom.chain, meta.restoredFrom.checkpointId)} (${meta.restoredFrom.mode})`]),
      `  files         ${s.files} (${s.newFiles} new, ${s.files - s.newFiles} reused)`,
      `  uploaded      ${fmtBytes(s.uploadedBytes)} (${s.uploadedBytes} bytes)`,
      `  referenced    ${fmtBytes(s.referencedBytes)} (${s.referencedBytes} bytes)`,
      ...(meta.application === undefined ? [] : [`  application   ${JSON.stringify(meta.application)}`]),
      '',
    ].join('\n'));
    const files = [...meta.files].sort((a, b) => a.level - b.level || a.localName.localeCompare(b.localName));
    io.out(table(
      ['file', 'level', 'size', 'crc32c', 'state', 'uploadedBy', 'storage name'],
      files.map((f) => [
        f.localName, String(f.level), String(f.size), f.crc32c.toString(16).padStart(8, '0'),
        f.uploadedBy === meta.checkpointId ? 'new' : 'reused', String(f.uploadedBy), f.storageName,
      ]),
    ));
    return 0;
  });
}

interface VerifyTarget {
  storageName: string;
  size: number;
  crc32c: number;
  /** Checkpoints that reference it with these expectations (labels: `5`, `chain/5`). */
  checkpoints: string[];
}

async function verifyCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args, allowPositionals: true, strict: true, options: { concurrency: { type: 'string' }, chain: { type: 'string' } },
  });
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError('usage: lsm-state verify <storage> [id|latest] [--chain NAME] [--concurrency N]');
  const which = positionals[1] === undefined ? undefined : parseId(positionals[1]);
  const chain = parseChain(values.chain);
  const concurrency = parseConcurrency(values.concurrency);
  return withStorage(positionals[0]!, async (storage) => {
    const problems: string[] = [];
    const metas: CheckpointMetadata[] = [];
    const wanted = which === undefined ? await checkpointsOf(storage, chain) : [{ chain: chain ?? null, checkpointId: which }];
    if (wanted.length === 0) {
      io.out(`no checkpoints${chain === undefined ? '' : ` of chain ${chain}`} in ${storage.description}`);
      return 0;
    }
    for (const w of wanted) {
      try {
        metas.push(await readCheckpointMetadata(storage, w.checkpointId, w.chain === null ? {} : { chain: w.chain }));
      } catch (err) {
        if (which === undefined && LsmError.is(err, 'LSM_NOT_FOUND')) continue; // removed by retention meanwhile
        problems.push(`checkpoint ${label(w.chain, w.checkpointId)}: metadata: ${(err as Error).message}`);
      }
    }
    // Each stored object is read once, even when several checkpoints reference it.
    const targets = new Map<string, VerifyTarget>();
    for (const meta of metas) {
      const name = label(meta.chain, meta.checkpointId);
      for (const f of meta.files) {
        const t = targets.get(f.storageName);
        if (t === undefined) {
          targets.set(f.storageName, { storageName: f.storageName, size: f.size, crc32c: f.crc32c, checkpoints: [name] });
        } else if (t.size !== f.size || t.crc32c !== f.crc32c) {
          problems.push(`${f.storageName}: checkpoints ${t.checkpoints.join(',')} and ${name} disagree on its size/CRC32C`);
        } else {
          t.checkpoints.push(name);
        }
      }
    }
    const list = [...targets.values()];
    const totalBytes = list.reduce((n, t) => n + t.size, 0);
    const bar = progressBar(io, 'verify ', totalBytes, list.length);
    const direct = storage instanceof DirectoryStorage ? storage : undefined;
    const scratch = direct === undefined ? await mkdtemp(join(tmpdir(), 'lsm-state-verify-')) : undefined;
    let verifiedBytes = 0;
    try {
      await runPool(list, concurrency, async (t, i) => {
        const where = `${t.storageName} (checkpoint${t.checkpoints.length > 1 ? 's' : ''} ${t.checkpoints.join(',')})`;
        try {
          let path: string;
          if (direct !== undefined) {
            path = join(direct.root, ...t.storageName.split('/'));
          } else {
            path = join(scratch!, `${i}.sst`);
            await storage.downloadFile(t.storageName, path);
          }
          try {
            const { crc, size } = await fileCrc32c(path);
            if (size !== t.size) problems.push(`${where}: size ${size}, expected ${t.size}`);
            else if (crc !== t.crc32c) problems.push(`${where}: CRC32C ${crc.toString(16).padStart(8, '0')}, expected ${t.crc32c.toString(16).padStart(8, '0')}`);
            else verifiedBytes += size;
          } finally {
            if (direct === undefined) await rm(path, { force: true });
          }
        } catch (err) {
          const missing = LsmError.is(err, 'LSM_NOT_FOUND') || (err as { cause?: { code?: string } }).cause?.code === 'ENOENT';
          problems.push(`${where}: ${missing ? 'missing' : (err as Error).message}`);
        }
        bar.add(t.size);
      });
    } finally {
      bar.stop();
      if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    }
    for (const p of problems) io.err(`lsm-state: verify: ${p}`);
    const summary = `${metas.length} checkpoint(s), ${list.length} file(s), ${fmtBytes(verifiedBytes)} verified`;
    if (problems.length > 0) {
      io.err(`lsm-state: verify FAILED: ${problems.length} problem(s); ${summary}`);
      return 1;
    }
    io.out(`verify ok: ${summary}`);
    return 0;
  });
}

/** Reports each completed download to `onFile` (for the restore progress bar). */
function countingStorage(inner: CheckpointStorage, sizeOf: (name: string) => number, onFile: (bytes: number) => void): CheckpointStorage {
  return {
    description: inner.description,
    putFile: (n, p) => inner.putFile(n, p),
    putBytes: (n, d) => inner.putBytes(n, d),
    getBytes: (n) => inner.getBytes(n),
    async downloadFile(name, localPath) {
      await inner.downloadFile(name, localPath);
      onFile(sizeOf(name));
    },
    list: (p) => inner.list(p),
    delete: (n) => inner.delete(n),
    close: () => inner.close(),
  };
}

async function restoreCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args, allowPositionals: true, strict: true, options: { mode: { type: 'string' }, concurrency: { type: 'string' }, chain: { type: 'string' } },
  });
  if (positionals.length !== 3) {
    throw new UsageError('usage: lsm-state restore <storage> <id|latest> <dir> [--chain NAME] [--mode claim|no-claim] [--concurrency N]');
  }
  const id = parseId(positionals[1]);
  const chain = parseChain(values.chain);
  const selector = chain === undefined ? {} : { chain };
  const mode = values.mode ?? 'claim';
  if (mode !== 'claim' && mode !== 'no-claim') throw new UsageError(`--mode must be claim or no-claim, got ${JSON.stringify(mode)}`);
  const concurrency = parseConcurrency(values.concurrency);
  const target = positionals[2]!;
  return withStorage(positionals[0]!, async (storage) => {
    // Resolve 'latest' once, so the bar and the restore agree on one checkpoint.
    const meta = await readCheckpointMetadata(storage, id, selector);
    const sizes = new Map(meta.files.map((f) => [f.storageName, f.size]));
    const total = meta.files.reduce((n, f) => n + f.size, 0);
    const bar = progressBar(io, 'restore', total, meta.files.length);
    let result;
    try {
      result = await restoreCheckpoint(
        countingStorage(storage, (n) => sizes.get(n) ?? 0, (b) => bar.add(b)),
        meta.checkpointId,
        target,
        { mode, concurrency, ...selector },
      );
    } finally {
      bar.stop();
    }
    const seconds = result.durationMs / 1000;
    io.out(`restored checkpoint ${label(chain, result.checkpointId)} (${mode}) into ${target}: ${result.files} files, ${fmtBytes(result.bytes)} in ${seconds.toFixed(2)} s`
      + (seconds > 0 ? ` (${fmtBytes(result.bytes / seconds)}/s)` : ''));
    return 0;
  });
}

export async function checkpointCommand(command: 'checkpoints' | 'inspect' | 'verify' | 'restore', args: string[], io: CliIo): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    io.out(`usage: lsm-state <command> ...\n\n${CHECKPOINT_USAGE}`);
    return 0;
  }
  switch (command) {
    case 'checkpoints':
      return listCommand(args, io);
    case 'inspect':
      return inspectCommand(args, io);
    case 'verify':
      return verifyCommand(args, io);
    case 'restore':
      return restoreCommand(args, io);
  }
}
