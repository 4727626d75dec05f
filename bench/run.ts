/**
 * Benchmark entry point: `node dist/bench/run.js [db|compaction|compaction-fill|simulate|codecs|checkpoint|state] [flags]`
 * (npm run bench -- db ...).
 *   db          bench/db-bench.ts, db_bench-like workloads against classic-level and rocksdb
 *   compaction  bench/compaction-throughput.ts, full-compaction throughput vs RocksDB's db_bench;
 *               --mode fill (or compaction-fill): bench/compaction-bench.ts, issue #3's sustained
 *               fill + overwrite; --checkpoint-workload: bench/checkpoint-bench.ts
 *   simulate    bench/compaction-sim.ts, the pickers run over many thousands of flushes, no I/O
 *   codecs      bench/codecs.ts, block codec throughput (run only when it exports main())
 *   checkpoint  bench/checkpoint-bench.ts, checkpoint sizes: codec × mode × compaction style
 *   state       bench/state-bench.ts, keyed-state access vs classic-level, checkpoint and rescale-restore
 * With no command, db runs. `--help` after a command shows its flags.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const USAGE = `usage: node dist/bench/run.js [db|compaction|compaction-fill|simulate|codecs|checkpoint|state] [flags]

  db          db_bench-like workloads: lsm-state vs classic-level and rocksdb (default)
              (node dist/bench/run.js db --help for its flags)
  compaction  full-compaction throughput of a 1M-key fillrandom database vs RocksDB's db_bench
              (--codec none|snappy|lz4|zstd, --rounds 3, --num 1000000, --json FILE; compaction --help)
              --mode fill: issue #3's fillrandom + overwrite (--num 5000000), leveled and universal
              vs classic-level and rocksdb (same as compaction-fill)
              --checkpoint-workload: the checkpoint benchmark below, flags passed through
  compaction-fill  = compaction --mode fill
  simulate    compaction picker simulator: write/space amplification, sorted runs over time
  codecs      block codec benchmark (bench/codecs.ts)
  checkpoint  incremental vs full checkpoints, per codec and compaction style (bench/checkpoint-bench.ts)
  state       keyed state: ValueState/ListState/MapState ops/s vs classic-level, checkpoint and rescale-restore (bench/state-bench.ts)`;

function isUsageError(err: unknown): boolean {
  const e = err as { name?: string; code?: string } | undefined;
  return e?.name === 'UsageError' || (typeof e?.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS'));
}

async function runCodecs(args: string[]): Promise<void> {
  const url = new URL('./codecs.js', import.meta.url);
  let source: string;
  try {
    source = readFileSync(fileURLToPath(url), 'utf8');
  } catch {
    console.error('note: bench/codecs.js is not built; skipping the codec benchmark');
    return;
  }
  // Importing a module that runs itself would start it, so look for an exported main first.
  if (!/export\s+(async\s+)?function\s+main\b|export\s*\{[^}]*\bmain\b[^}]*\}/.test(source)) {
    console.error('note: bench/codecs.ts does not export main(); skipping it here (run it directly: node dist/bench/codecs.js)');
    return;
  }
  const mod = (await import(url.href)) as { main?: (argv: string[]) => unknown };
  if (typeof mod.main !== 'function') {
    console.error('note: bench/codecs.js exports no main function; skipping it');
    return;
  }
  await mod.main(args);
}

const COMPACTION_MODES = ['throughput', 'fill', 'checkpoint'] as const;
type CompactionMode = (typeof COMPACTION_MODES)[number];

/**
 * Takes `--mode M` / `--mode=M` / `--checkpoint-workload` out of the compaction flags; the rest go
 * to the chosen benchmark, whose own parser would reject them.
 */
function compactionMode(args: string[]): { mode: CompactionMode; rest: string[] } {
  let mode: string = 'throughput';
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--checkpoint-workload') mode = 'checkpoint';
    else if (a.startsWith('--mode=')) mode = a.slice('--mode='.length);
    else if (a === '--mode') mode = args[++i] ?? '';
    else rest.push(a);
  }
  if (!(COMPACTION_MODES as readonly string[]).includes(mode)) {
    const err = new Error(`compaction --mode must be one of ${COMPACTION_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
    err.name = 'UsageError';
    throw err;
  }
  return { mode: mode as CompactionMode, rest };
}

async function runCompaction(args: string[]): Promise<void> {
  const { mode, rest } = compactionMode(args);
  const mod = mode === 'fill'
    ? await import('./compaction-bench.js')
    : mode === 'checkpoint'
      ? await import('./checkpoint-bench.js')
      : await import('./compaction-throughput.js');
  await mod.main(rest);
}

async function run(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === undefined || first.startsWith('-')) {
    if (first === '-h' || first === '--help') {
      console.log(USAGE);
      return;
    }
    const { main } = await import('./db-bench.js');
    await main(argv);
    return;
  }
  switch (first) {
    case 'db': {
      const { main } = await import('./db-bench.js');
      await main(rest);
      return;
    }
    case 'compaction':
      await runCompaction(rest);
      return;
    case 'compaction-fill': {
      const { main } = await import('./compaction-bench.js');
      await main(rest);
      return;
    }
    case 'simulate': {
      const { main } = await import('./compaction-sim.js');
      await main(rest);
      return;
    }
    case 'codecs':
      await runCodecs(rest);
      return;
    case 'checkpoint': {
      const { main } = await import('./checkpoint-bench.js');
      await main(rest);
      return;
    }
    case 'state': {
      const { main } = await import('./state-bench.js');
      await main(rest);
      return;
    }
    case 'help':
      console.log(USAGE);
      return;
    default: {
      const err = new Error(`unknown benchmark ${JSON.stringify(first)}\n${USAGE}`);
      err.name = 'UsageError';
      throw err;
    }
  }
}

try {
  await run(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = isUsageError(err) ? 2 : 1;
}
