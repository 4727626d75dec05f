/**
 * Issue #4's checkpoint benchmark: a keyed workload scaled from the classic example of
 * incremental checkpointing (build S_o ≈ 100 MB of raw state, then change ~10% of it per interval
 * and checkpoint after each interval), per codec × compaction style × mode (16 configurations).
 *
 * State looks like a stream processor's keyed state:
 *   user:<id>:profile   {"country":"DE","plan":"pro","lang":"de","signup":"2023-04-12"}
 *   user:<id>:clicks    {"n":1234,"last":1714000000123}
 *   user:<id>:session   {"sid":"s-3f9a01c2","pages":["/home","/cart"],"dur":1234}
 *   agg:<minute window>:country=DE,device=ios,plan=pro   {"count":..,"sum":..,"min":..,"max":..,"hll":"<hex>"}
 * Per interval: ~70% of changed bytes are updates (skewed toward hot keys), ~18% inserts (new
 * users, new windows), ~12% deletes (expired windows, churned users). Seeded PRNG.
 *
 * How it runs (docs/checkpoint-benchmark.md, "How the run is organised"):
 * - The workload is generated once, encoded as write batches, and replayed by every codec × style.
 * - One database per codec × style; at each checkpoint the version is pinned once and BOTH modes
 *   checkpoint that same pin, one after the other, each into its own directory storage (an
 *   incremental and a full Checkpointer on the same database). Every byte reported as uploaded
 *   is a real upload of that mode.
 * - Up to `--jobs` codec × style workloads run at once in worker threads.
 * - Each mode's last checkpoint is restored and compared with the model's final state, key by key
 *   in one sorted pass (mismatches must be 0).
 * - When every workload is done (nothing else running), each last checkpoint is restored again
 *   for timing, alternating with a plain copy of the same files: median MiB/s of several rounds.
 * - After the restore checks, each database is fully compacted (compactRange): S_c, the live data's
 *   size with nothing obsolete left, gives the codec's ratio S_o/S_c and the space amplification
 *   of every checkpoint; the compaction counters up to the last checkpoint show whether
 *   compaction kept up with the writes.
 *
 * The code: this file parses the flags, runs the pieces in order and writes results.json; the
 * workload model, batch encoder, generator and feed are in bench/checkpoint-bench/workload.ts; one
 * codec × style run and the worker-thread lanes in runner.ts (worker.ts is the workers' entry);
 * restore checks and restore timing in restore.ts; tables, text and SVG charts in report.ts; the
 * shared names and result types in common.ts.
 *
 * Usage: node dist/bench/checkpoint-bench.js [--state-mb 100] [--intervals 10] [--change-pct 10]
 *   [--codecs none,snappy,lz4,zstd] [--modes incremental,full] [--styles leveled,universal]
 *   [--write-buffer-mb N] [--target-file-mb N] [--seed 42] [--out bench-results] [--retain 3]
 *   [--jobs 2] [--restore-rounds 3] [--batch-kb 256] [--verify-keys lz4/leveled|all|none] [--detail-all]
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import type { CompressionName, DatabaseOptions } from '../src/index.js';
import { codecFor, compressionTypeFromName, loadCodecs } from '../src/sstable/compression.js';
import { ALL_CODECS, ALL_MODES, ALL_STYLES, MiB, type Style, type WorkloadParams, type WorkloadSpec } from './checkpoint-bench/common.js';
import { checkFailed, renderReport, writeCharts } from './checkpoint-bench/report.js';
import { timeRestore } from './checkpoint-bench/restore.js';
import { startRuns } from './checkpoint-bench/runner.js';
import { BatchEncoder, WorkloadFeed, batchCapacity, generateWorkload } from './checkpoint-bench/workload.js';

function codecAvailable(name: CompressionName): string | undefined {
  try {
    codecFor(compressionTypeFromName(name));
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function splitList<T extends string>(name: string, s: string, allowed: readonly T[]): T[] {
  const out = s.split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const x of out) if (!allowed.includes(x as T)) throw Object.assign(new Error(`--${name}: unknown ${JSON.stringify(x)} (allowed: ${allowed.join(', ')})`), { name: 'UsageError' });
  return out as T[];
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<unknown> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'state-mb': { type: 'string', default: '100' },
      intervals: { type: 'string', default: '10' },
      'change-pct': { type: 'string', default: '10' },
      codecs: { type: 'string', default: ALL_CODECS.join(',') },
      modes: { type: 'string', default: ALL_MODES.join(',') },
      styles: { type: 'string', default: ALL_STYLES.join(',') },
      'write-buffer-mb': { type: 'string' },
      'target-file-mb': { type: 'string' },
      seed: { type: 'string', default: '42' },
      retain: { type: 'string', default: '3' },
      jobs: { type: 'string', default: '2' },
      'restore-rounds': { type: 'string', default: '3' },
      'batch-kb': { type: 'string', default: '256' },
      'verify-keys': { type: 'string', default: 'lz4/leveled' },
      out: { type: 'string', default: 'bench-results' },
      'detail-all': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: checkpoint-bench [--state-mb 100] [--intervals 10] [--change-pct 10] [--codecs none,snappy,lz4,zstd] [--modes incremental,full] [--styles leveled,universal] [--write-buffer-mb N] [--target-file-mb N] [--seed 42] [--retain 3] [--jobs 2] [--restore-rounds 3] [--batch-kb 256] [--verify-keys lz4/leveled|all|none] [--out bench-results] [--detail-all]');
    return undefined;
  }
  const stateMb = Number(values['state-mb']);
  const intervals = Number(values.intervals);
  const changePct = Number(values['change-pct']);
  const jobs = Number(values.jobs);
  const restoreRounds = Number(values['restore-rounds']);
  const batchKb = Number(values['batch-kb']);
  if (!(stateMb > 0) || !Number.isInteger(intervals) || intervals < 1 || !(changePct > 0)) {
    throw Object.assign(new Error('--state-mb, --intervals and --change-pct must be positive'), { name: 'UsageError' });
  }
  if (!Number.isInteger(jobs) || jobs < 1 || !Number.isInteger(restoreRounds) || restoreRounds < 0 || !(batchKb > 0)) {
    throw Object.assign(new Error('--jobs must be an integer >= 1, --restore-rounds >= 0, --batch-kb > 0'), { name: 'UsageError' });
  }
  // Memtables and files scale with the state (1/16 of it, 1..8 MiB) so there are files to share.
  const auto = Math.min(8, Math.max(1, stateMb / 16));
  const wbMb = values['write-buffer-mb'] !== undefined ? Number(values['write-buffer-mb']) : auto;
  const tfMb = values['target-file-mb'] !== undefined ? Number(values['target-file-mb']) : auto;
  const dbOptions: DatabaseOptions = {
    wal: false, // Flink's setting: durability comes from the checkpoints
    writeBufferSize: Math.round(wbMb * MiB),
    targetFileSizeBase: Math.round(tfMb * MiB),
    maxBytesForLevelBase: Math.round(4 * wbMb * MiB),
  };
  await loadCodecs();
  const notes: string[] = [];
  const codecs = splitList('codecs', values.codecs, ALL_CODECS).filter((c) => {
    const missing = codecAvailable(c);
    if (missing !== undefined) notes.push(`skipped codec ${c}: ${missing}`);
    return missing === undefined;
  });
  const modes = splitList('modes', values.modes, ALL_MODES);
  const styles = splitList('styles', values.styles, ALL_STYLES);
  const seed = Number(values.seed);
  const retain = Number(values.retain);
  const params = { stateBytes: stateMb * 1e6, intervals, changePct, seed, retain, jobs, restoreRounds, batchBytes: batchKb * 1024, dbOptions };

  // Every restore gets the structural and sampled checks (checkRestored); the key-by-key
  // comparison (a full scan: seconds per restore at this size) runs for every restore ('all'),
  // none, or the first mode's restore of the listed codec/style pairs.
  const verifyKeys = values['verify-keys'].trim();
  const keyPairs = verifyKeys === 'all' || verifyKeys === 'none' ? [] : verifyKeys.split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const pair of keyPairs) {
    const [c, st] = pair.split('/');
    if (!ALL_CODECS.includes(c as CompressionName) || !ALL_STYLES.includes(st as Style)) {
      throw Object.assign(new Error(`--verify-keys: all, none, or codec/style pairs like lz4/leveled (got ${JSON.stringify(pair)})`), { name: 'UsageError' });
    }
  }
  const configs: WorkloadSpec[] = codecs.flatMap((codec) => styles.map((style) => ({
    codec, style,
    keyModes: verifyKeys === 'all' ? modes : keyPairs.includes(`${codec}/${style}`) ? modes.slice(0, 1) : [],
  })));
  const wparams: WorkloadParams = { intervals, retain, modes, dbOptions };

  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const load0 = loadavg()[0]!;
  const enc = new BatchEncoder(batchCapacity(params.stateBytes, intervals, changePct), params.batchBytes);
  const feed = new WorkloadFeed(enc.buf);
  const runs = startRuns(configs, feed, wparams, jobs, (c, out) => {
    const r = out.results[0]!;
    process.stderr.write(`checkpoint bench: ${c.codec} / ${c.style} (${modes.join(' + ')}) ${(r.wallMs / 1000).toFixed(1)} s, restore checks ${out.results.map((x) => (checkFailed(x) ? 'FAILED' : 'ok')).join('/')}\n`);
  });
  process.stderr.write(`checkpoint bench: ${configs.length} codec × style workloads, ${jobs} at a time, replaying a workload generated while they run (${stateMb} MB, ${intervals} intervals × ${changePct}%)\n`);
  let genMs = 0;
  try {
    await generateWorkload(feed, enc, params.stateBytes, intervals, changePct, seed, (what) => {
      runs.publish(what);
      if ('final' in what) genMs = performance.now() - started;
    });
  } catch (err) {
    feed.fail(err);
    throw err;
  }
  process.stderr.write(`checkpoint bench: workload generated in ${(genMs / 1000).toFixed(1)} s, ${(enc.length / MiB).toFixed(0)} MiB of batches\n`);
  const outs = await runs.finished;
  const wl = feed.final!;
  const workloadsSec = (performance.now() - started) / 1000;

  // Restore timing, with nothing else running.
  const r0 = performance.now();
  try {
    if (restoreRounds > 0) {
      process.stderr.write(`checkpoint bench: timing restores against plain copies (${restoreRounds} rounds each) ... `);
      // Both chains' last checkpoints hold the same tables (crossCheckModes): time the first mode's.
      for (const out of outs) {
        const r = out.results[0]!;
        r.restore.timing = await timeRestore(out.storeDirs[r.mode]!, restoreRounds);
      }
    }
  } finally {
    for (const out of outs) for (const d of Object.values(out.storeDirs)) await rm(d, { recursive: true, force: true });
  }
  const restoreSec = (performance.now() - r0) / 1000;
  if (restoreRounds > 0) process.stderr.write(`${restoreSec.toFixed(1)} s\n`);
  const results = outs.flatMap((o) => o.results);
  const totalSec = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  const load1 = loadavg()[0]!;

  const date = new Date().toISOString();
  const report = renderReport({
    results, date, workloads: configs.length, codecs, modes, styles, jobs, stateMb, stateBytes: params.stateBytes, intervals, changePct,
    wbMb, tfMb, retain, seed, batchKb, restoreRounds, expectedKeys: wl.expectedKeys, notes, detailAll: values['detail-all'],
    totalSec, workloadsSec, restoreSec, cpuSec, genMs, load0, load1,
  });
  console.log(report);

  const dir = join(values.out, `checkpoint-bench-${date.replace(/[:.]/g, '-')}`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'results.json');
  await writeFile(file, JSON.stringify({
    date, argv, node: process.version, cpus: cpus().length, totalSec, workloadsSec, restoreSec, genSec: genMs / 1000, cpuSec, loadavg: [load0, load1],
    params, notes, expectedKeys: wl.expectedKeys, phases: feed.phases.map((p) => ({ changedRawBytes: p.changedRawBytes, rawBytes: p.rawBytes, ops: p.ops, batches: p.ranges.length / 2 })),
    results,
  }, null, 2));
  const charts = await writeCharts(dir, results);
  await writeFile(join(dir, 'report.md'), `${report}\n\n${charts.map((c) => `![${c}](${c})`).join('\n\n')}\n`);
  console.log(`Results in ${dir}: report.md, results.json, ${charts.join(', ')}`);
  return { file, dir, totalSec, results };
}

if (isMainThread && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await main();
  } catch (err) {
    console.error(err instanceof Error ? err.stack ?? err.message : err);
    process.exitCode = 1;
  }
}
