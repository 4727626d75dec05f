/**
 * Benchmark entry point: `node dist/bench/run.js [db|compaction|simulate|codecs|checkpoint|state] [flags]`
 * (npm run bench -- db ...).
 *   db          bench/db-bench.ts, db_bench-like workloads against classic-level and rocksdb
 *   compaction  bench/compaction-bench.ts, sustained fill + overwrite, both styles and peers
 *   simulate    bench/compaction-sim.ts, the pickers run over many thousands of flushes, no I/O
 *   codecs      bench/codecs.ts, block codec throughput (run only when it exports main())
 *   checkpoint  bench/checkpoint-bench.ts, checkpoint sizes: codec × mode × compaction style
 *   state       bench/state-bench.ts, keyed-state access vs classic-level, checkpoint and rescale-restore
 * With no command, db runs. `--help` after a command shows its flags.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const USAGE = `usage: node dist/bench/run.js [db|compaction|simulate|codecs|checkpoint|state] [flags]

  db          db_bench-like workloads: lsm-state vs classic-level and rocksdb (default)
              (node dist/bench/run.js db --help for its flags)
  compaction  fillrandom + overwrite (--num 5000000), leveled and universal vs classic-level and rocksdb
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
    case 'compaction': {
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
