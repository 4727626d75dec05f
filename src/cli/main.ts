#!/usr/bin/env node
/**
 * The `lsm-state` command line.
 *
 *   lsm-state bench checkpoint [flags]   the main job: compression ratio and checkpoint sizes per codec,
 *                                        mode and compaction style (about two minutes)
 *   lsm-state bench db [flags]           db_bench-like benchmark against classic-level and rocksdb
 *   lsm-state bench compaction [flags]   sustained fill + overwrite, both styles against the peers
 *   lsm-state stats <dir>     open the database in <dir> and print db.stats()
 *   lsm-state checkpoints <storage>                 list the checkpoints in <storage>
 *   lsm-state inspect <storage> <id>                files of one checkpoint: sizes, new or reused, parent
 *   lsm-state verify <storage> [id]                 size and CRC32C of every referenced file
 *   lsm-state restore <storage> <id|latest> <dir>   restore a checkpoint into an empty <dir>
 *   lsm-state --help
 *
 * <storage> is a directory path or s3://bucket/prefix (checkpoint-cli.ts).
 *
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Database } from '../index.js';
import type { DatabaseStats } from '../index.js';
import { CHECKPOINT_USAGE, type CliIo, UsageError, checkpointCommand, consoleIo } from './checkpoint-cli.js';

/** Defaults for `lsm-state bench`: about a minute on 2 cores (docs/benchmarks.md). */
const BENCH_DEFAULTS = {
  num: 250_000, singleNum: 20_000, reads: 100_000, runs: 3, engines: ['lsm-state', 'classic-level', 'rocksdb'],
};

const USAGE = `usage: lsm-state <command> [flags]

commands:
  bench checkpoint [flags]
                  the main job: state size and compression per codec, incremental vs full
                  checkpoint sizes, per compaction style (about two minutes on 2 cores;
                  lsm-state bench checkpoint --help)
  bench db [flags]
                  db_bench-like workloads for lsm-state, classic-level and rocksdb
                  (defaults here: --num ${BENCH_DEFAULTS.num} --single-num ${BENCH_DEFAULTS.singleNum} --reads ${BENCH_DEFAULTS.reads}
                  --runs ${BENCH_DEFAULTS.runs} --engines ${BENCH_DEFAULTS.engines.join(',')}: about a minute)
  bench compaction [flags]
                  fillrandom + overwrite (--num 5000000), leveled and universal vs the peers
  stats <dir>     open the database in <dir> (it must exist) and print db.stats()
${CHECKPOINT_USAGE}

flags:
  -h, --help      this text`;

function isUsageError(err: unknown): boolean {
  const e = err as { name?: string; code?: string } | undefined;
  return e?.name === 'UsageError' || (typeof e?.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS'));
}

interface DbBenchModule {
  main(argv: string[], defaults?: Record<string, unknown>): Promise<unknown>;
}

const BENCHMARKS: Record<string, { file: string; defaults?: Record<string, unknown> }> = {
  checkpoint: { file: 'checkpoint-bench.js' },
  db: { file: 'db-bench.js', defaults: BENCH_DEFAULTS },
  compaction: { file: 'compaction-bench.js' },
};

/** `lsm-state bench [checkpoint|db|compaction] [flags]`; checkpoint when no name is given. */
async function bench(args: string[]): Promise<void> {
  const named = args[0] !== undefined && !args[0].startsWith('-');
  const name = named ? args[0]! : 'checkpoint';
  const spec = BENCHMARKS[name];
  if (spec === undefined) throw new UsageError(`unknown benchmark ${JSON.stringify(name)}: one of ${Object.keys(BENCHMARKS).join(', ')}`);
  let mod: DbBenchModule;
  try {
    // dist/src/cli/main.js → dist/bench/*.js (benchmarks are not part of the published package).
    mod = (await import(new URL(`../../bench/${spec.file}`, import.meta.url).href)) as DbBenchModule;
  } catch (err) {
    throw new Error(`the benchmark is not available (dist/bench/${spec.file}: ${(err as Error).message.split('\n')[0]}); build it from a source checkout with npx tsc -p tsconfig.json`);
  }
  await mod.main(named ? args.slice(1) : args, spec.defaults);
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(3);
  return String(v);
}

function flatten(prefix: string, v: unknown, out: [string, unknown][]): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(prefix === '' ? k : `${prefix}.${k}`, x, out);
  } else {
    out.push([prefix, v]);
  }
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function formatStats(dir: string, s: DatabaseStats): string {
  const levels = s.levels.filter((l) => l.files > 0 || l.level === 0);
  const rows: [string, unknown][] = [];
  const { levels: _levels, ...rest } = s;
  flatten('', rest, rows);
  return [
    `lsm-state stats: ${dir}`,
    '',
    table(['level', 'files', 'bytes', 'score'], levels.map((l) => [String(l.level), fmt(l.files), fmt(l.bytes), l.score.toFixed(2)])),
    '',
    table(['stat', 'value'], rows.map(([k, v]) => [k, fmt(v)])),
    '',
    'Counters (flush, compaction, wal, stalls, blockCache) count from this open; opening replays the WAL into level-0 tables.',
  ].join('\n');
}

async function stats(args: string[], io: CliIo): Promise<void> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, strict: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    io.out('usage: lsm-state stats <dir>');
    return;
  }
  if (positionals.length !== 1) throw new UsageError(`stats takes one database directory, got ${positionals.length} arguments\nusage: lsm-state stats <dir>`);
  const dir = positionals[0]!;
  // No read-only mode exists yet: open replays the WAL and starts a new MANIFEST and WAL, but
  // nothing here writes a key.
  // Compactions stay off: looking at a database should not start rewriting it.
  const db = await Database.open(dir, { createIfMissing: false, disableAutoCompactions: true });
  try {
    io.out(formatStats(dir, db.stats()));
  } finally {
    await db.close();
  }
}

/** Runs one command line; resolves to the exit code (0 ok, 1 failure, 2 usage). */
export async function cli(argv: string[], io: CliIo = consoleIo): Promise<number> {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case undefined:
        throw new UsageError(`a command is needed\n${USAGE}`);
      case '-h':
      case '--help':
      case 'help':
        io.out(USAGE);
        return 0;
      case 'bench':
        await bench(rest);
        return 0;
      case 'stats':
        await stats(rest, io);
        return 0;
      case 'checkpoints':
      case 'inspect':
      case 'verify':
      case 'restore':
        return await checkpointCommand(command, rest, io);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
    }
  } catch (err) {
    io.err(`lsm-state: ${err instanceof Error ? err.message : String(err)}`);
    return isUsageError(err) ? 2 : 1;
  }
}

/** True when this module is the program (node dist/src/cli/main.js, or the npm bin link to it), not an import. */
function isMain(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) process.exitCode = await cli(process.argv.slice(2));
