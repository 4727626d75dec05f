/**
 * The checkpoint benchmark's report: the markdown tables and text charts printed and saved as
 * report.md (renderReport()), and the SVG charts written next to it (writeCharts()).
 */
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { CompressionName } from '../../src/index.js';
import { barChart, lineChart } from '../svg-charts.js';
import { MiB, median, type ConfigResult, type Mode, type Style } from './common.js';

// ------------------------------------------------------------------------------------------
// Tables and text charts

const mb = (b: number): string => (b / MiB).toFixed(2);
const ms = (x: number): string => x.toFixed(x < 10 ? 2 : 0);

function bar(value: number, max: number, width: number, ch = '█'): string {
  const n = max <= 0 ? 0 : Math.round((value / max) * width);
  return ch.repeat(Math.max(0, n)).padEnd(width, ' ');
}

export function checkFailed(r: ConfigResult): boolean {
  return r.restore.mismatches > 0 || r.restore.problems.length > 0;
}

/** What the restore check of one configuration did and found. */
function checkText(r: ConfigResult): string {
  if (checkFailed(r)) return `**failed: ${r.restore.mismatches} key mismatches; ${r.restore.problems.join('; ') || 'no other problem'}**`;
  return r.restore.keys > 0 ? `ok: version, ${r.restore.sampledGets} gets, all ${r.restore.keys} keys` : `ok: version, ${r.restore.sampledGets} gets`;
}

/** S at the last checkpoint: its live table bytes. */
const lastS = (r: ConfigResult): number => r.checkpoints[r.checkpoints.length - 1]?.referencedBytes ?? 0;

/** One result per codec × style (the first mode's): what the workload's modes share. */
function perWorkload(results: ConfigResult[]): ConfigResult[] {
  return results.filter((x, i, all) => all.findIndex((y) => y.codec === x.codec && y.style === x.style) === i);
}

function summaryTable(results: ConfigResult[]): string[] {
  const lines = [
    '| codec | style | mode | S_o raw MiB | S_c fully compacted MiB | ratio S_o/S_c | C₀ initial S_o/S | S last checkpoint MiB | space amp S/S_c | mean ΔS MiB | mean S MiB | ΔS/S | total uploaded MiB | ckpt p50 ms | writer blocked max ms | restore check |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    lines.push(`| ${r.codec} | ${r.style} | ${r.mode} | ${mb(r.rawBytes)} | ${mb(r.compressedBytes)} | ${r.ratio.toFixed(2)} | ${r.initialRatio.toFixed(2)} | ${mb(lastS(r))} | ${r.spaceAmp.toFixed(2)} | ${mb(r.meanUploaded)} | ${mb(r.meanReferenced)} | ${(r.meanUploaded / Math.max(1, r.meanReferenced)).toFixed(3)} | ${mb(r.totalUploaded)} | ${ms(r.checkpointP50Ms)} | ${ms(r.writerBlockedMaxMs)} | ${checkText(r)} |`);
  }
  return lines;
}

function pairTable(results: ConfigResult[]): string[] {
  const lines = [
    '| codec | style | total uploaded incremental MiB | total uploaded full MiB | incremental / full | changed raw MiB (all intervals) | changed raw × C MiB | incremental / (changed × C) |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const inc of results.filter((r) => r.mode === 'incremental')) {
    const full = results.find((r) => r.mode === 'full' && r.codec === inc.codec && r.style === inc.style);
    const changed = inc.checkpoints.slice(1).reduce((a, r) => a + r.changedRawBytes, 0);
    const changedC = changed / inc.ratio;
    lines.push(`| ${inc.codec} | ${inc.style} | ${mb(inc.totalUploaded)} | ${full ? mb(full.totalUploaded) : '-'} | ${full ? (inc.totalUploaded / full.totalUploaded).toFixed(3) : '-'} | ${mb(changed)} | ${mb(changedC)} | ${(inc.totalUploaded / Math.max(1, changedC)).toFixed(2)} |`);
  }
  return lines;
}

function intervalTable(r: ConfigResult): string[] {
  const inc = r.mode === 'incremental';
  const lines = [
    `#### ${r.codec} / ${r.style} / ${r.mode}`,
    '',
    `| interval | S_o raw MiB | changed raw MiB | ΔS uploaded MiB | S referenced MiB | space amp | L0 tables | ΔS/S | new tables since previous MiB | ${inc ? 'ΔS / new tables | ' : ''}metadata KiB | new files | reused files | duration ms | writer blocked ms |`,
    `|---:|---:|---:|---:|---:|---:|---:|---:|---:|${inc ? '---:|' : ''}---:|---:|---:|---:|---:|`,
  ];
  r.checkpoints.forEach((c, i) => {
    const ratio = inc ? ` ${(c.uploadedBytes / Math.max(1, c.newTableBytes)).toFixed(3)} |` : '';
    const amp = r.spaceAmpByCheckpoint[i]?.toFixed(2) ?? '-';
    lines.push(`| ${c.interval === 0 ? '0 (initial)' : c.interval} | ${mb(c.rawBytes)} | ${mb(c.changedRawBytes)} | ${mb(c.uploadedBytes)} | ${mb(c.referencedBytes)} | ${amp} | ${c.l0Files} | ${(c.uploadedBytes / Math.max(1, c.referencedBytes)).toFixed(3)} | ${mb(c.newTableBytes)} |${ratio} ${(c.metadataBytes / 1024).toFixed(1)} | ${c.newFiles} | ${c.reusedFiles} | ${ms(c.durationMs)} | ${ms(c.writerBlockedMs)} |`);
  });
  lines.push('');
  return lines;
}

/** Incremental uploads against the physical minimum: the tables created since the previous checkpoint. */
function minimumTable(results: ConfigResult[]): string[] {
  const lines = [
    '| codec | style | new tables since previous, sum MiB | ΔS uploaded, sum MiB | metadata, sum KiB | ΔS / new tables | (ΔS + metadata) / new tables | worst checkpoint ΔS / new tables | checkpoints above 1.05 |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results.filter((x) => x.mode === 'incremental')) {
    const ivs = r.checkpoints.slice(1);
    const worst = Math.max(0, ...ivs.map((c) => c.uploadedBytes / Math.max(1, c.newTableBytes)));
    const over = ivs.filter((c) => c.uploadedBytes > 1.05 * c.newTableBytes).length;
    lines.push(`| ${r.codec} | ${r.style} | ${mb(r.totalNewTables)} | ${mb(r.totalUploaded)} | ${(r.totalMetadata / 1024).toFixed(1)} | ${(r.totalUploaded / Math.max(1, r.totalNewTables)).toFixed(3)} | ${((r.totalUploaded + r.totalMetadata) / Math.max(1, r.totalNewTables)).toFixed(3)} | ${worst.toFixed(3)} | ${over} of ${ivs.length} |`);
  }
  return lines;
}

function restoreTable(results: ConfigResult[]): string[] {
  const lines = [
    '| codec | style | mode | files | MiB | restore MiB/s | plain copy MiB/s | copy + fsync MiB/s | restore / copy | restore / (copy + fsync) | CPU ms restore / copy / copy + fsync | restore check | restore + check ms |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const r of results) {
    const t = r.restore.timing;
    const cols = t === undefined
      ? '- | - | - | - | - | - | - | - |'
      : `${t.files} | ${mb(t.bytes)} | ${t.restoreMiBps.toFixed(0)} | ${t.copyMiBps.toFixed(0)} | ${t.copySyncMiBps.toFixed(0)} | ${(t.restoreMiBps / t.copyMiBps).toFixed(2)} | ${(t.restoreMiBps / t.copySyncMiBps).toFixed(2)} | ${t.cpuMs.restore.toFixed(0)} / ${t.cpuMs.copy.toFixed(0)} / ${t.cpuMs.copySync.toFixed(0)} |`;
    lines.push(`| ${r.codec} | ${r.style} | ${r.mode} | ${cols} ${checkText(r)} | ${r.restore.verifyMs.toFixed(0)} |`);
  }
  return lines;
}

const sec = (millis: number): string => (millis / 1000).toFixed(1);

function phaseTable(results: ConfigResult[]): string[] {
  const lines = [
    '| codec | style | open s | waiting for the generator s | build (apply) s | intervals (apply) s | checkpoints, both modes s | restore + checks, both modes s | full compaction (after the checks) s | close s | workload wall s |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of perWorkload(results)) {
    const ph = r.phaseMs;
    lines.push(`| ${r.codec} | ${r.style} | ${sec(ph.setup)} | ${sec(ph.wait)} | ${sec(ph.build)} | ${sec(ph.intervals)} | ${sec(ph.checkpoints)} | ${sec(ph.verify)} | ${sec(ph.fullCompaction)} | ${sec(ph.close)} | ${sec(r.wallMs)} |`);
  }
  return lines;
}

/** Compaction's work and backlog per codec × style, up to the last checkpoint. */
function keepUpTable(results: ConfigResult[]): string[] {
  const lines = [
    '| codec | style | flushes | compactions | trivial moves | compaction read MiB | compaction written MiB | compaction job s | input MiB/s per thread | L0 tables at checkpoints, max | L0 tables seen, max | stall s (count: slowed writes / stops / memtable stalls) | pending compaction at the last checkpoint MiB | full compaction after it s | tables per level at the last checkpoint |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of perWorkload(results)) {
    const k = r.keepUp;
    const stalls = `${k.stallSeconds.toFixed(1)} (${r.compactions.slowdownWrites} / ${r.compactions.stops} / ${r.memtableStalls.count})`;
    const pending = r.style === 'leveled' ? mb(k.pendingBytes) : '-'; // universal does not estimate it
    const levels = r.levelFiles.map((n, i) => `L${i}:${n}`).filter((x) => !x.endsWith(':0')).join(' ');
    lines.push(`| ${r.codec} | ${r.style} | ${r.flushes} | ${k.compactions} | ${k.trivialMoves} | ${mb(k.bytesRead)} | ${mb(k.bytesWritten)} | ${k.jobSeconds.toFixed(1)} | ${k.inputMiBpsPerThread.toFixed(1)} | ${k.maxL0AtCheckpoints} | ${k.maxL0Seen} | ${stalls} | ${pending} | ${sec(r.phaseMs.fullCompaction)} | ${levels} |`);
  }
  return lines;
}

function uploadChart(inc: ConfigResult, full: ConfigResult | undefined): string[] {
  const rows = inc.checkpoints.slice(1);
  const max = Math.max(...rows.map((r) => r.referencedBytes), ...(full?.checkpoints.slice(1).map((r) => r.uploadedBytes) ?? []));
  const lines = [`ΔS uploaded per interval, ${inc.codec} / ${inc.style} (█ incremental ΔS, ▒ full ΔS (= S), scale: ${mb(max)} MiB)`];
  for (const r of rows) {
    const f = full?.checkpoints[r.interval];
    lines.push(`  #${String(r.interval).padStart(2)} inc  |${bar(r.uploadedBytes, max, 50)}| ${mb(r.uploadedBytes).padStart(8)} MiB`);
    if (f) lines.push(`      full |${bar(f.uploadedBytes, max, 50, '▒')}| ${mb(f.uploadedBytes).padStart(8)} MiB`);
  }
  return lines;
}

function ratioChart(results: ConfigResult[]): string[] {
  const rs = results.filter((r) => r.mode === 'incremental');
  const max = Math.max(...rs.map((r) => r.ratio), ...rs.map((r) => r.initialRatio));
  const lines = [`compression ratio per codec (incremental runs; █ C₀ = S_o/S at the initial checkpoint, ▒ codec ratio S_o/S_c, S_c = fully compacted after the last checkpoint; scale ${max.toFixed(2)}x)`];
  for (const r of rs) {
    lines.push(`  ${`${r.codec}/${r.style}`.padEnd(17)} |${bar(r.initialRatio, max, 40)}| ${r.initialRatio.toFixed(2)}x  S ${mb(r.checkpoints[0]!.referencedBytes)} MiB`);
    lines.push(`  ${''.padEnd(17)} |${bar(r.ratio, max, 40, '▒')}| ${r.ratio.toFixed(2)}x  S_c ${mb(r.compressedBytes)} MiB`);
  }
  return lines;
}

const SPARK = '▁▂▃▄▅▆▇█';

/** Space amplification over the checkpoints, one sparkline per codec × style (the modes share it). */
function spaceAmpChart(results: ConfigResult[]): string[] {
  const ws = perWorkload(results);
  const max = Math.max(1, ...ws.flatMap((r) => r.spaceAmpByCheckpoint));
  const span = max > 1 ? max - 1 : 1;
  const lines = [`space amplification per checkpoint (S / fully compacted size; one column per checkpoint from 0, ▁ = 1.00 or less, █ = ${max.toFixed(2)})`];
  for (const r of ws) {
    const cells = r.spaceAmpByCheckpoint.map((a) => SPARK[Math.round((Math.min(Math.max(a - 1, 0), span) / span) * (SPARK.length - 1))]!).join('');
    lines.push(`  ${`${r.codec}/${r.style}`.padEnd(17)} |${cells}| last ${r.spaceAmp.toFixed(2)}, max ${Math.max(...r.spaceAmpByCheckpoint).toFixed(2)}`);
  }
  return lines;
}

/**
 * The model S_n = S_{n-1} + ΔS_n - dropped_n: what each incremental checkpoint adds and what it
 * stops referencing (tables compaction replaced), against the changed data at the codec's ratio.
 */
function modelTable(results: ConfigResult[]): string[] {
  const rows: string[] = [
    '### Checkpoint size against the model S_n = S_{n-1} + ΔS_n − dropped_n (incremental runs)',
    '',
    'dropped_n: bytes of tables S_{n-1} referenced that S_n no longer does (replaced by flushes and compaction). ΔS_n / (changed × C) above 1 means compaction made the upload larger than the changed data; intervals above 2 are counted.',
    '',
    '| codec | style | mean ΔS MiB | mean dropped MiB | mean changed × C MiB | intervals with ΔS > 2 × changed × C | worst ΔS / (changed × C) |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of results.filter((x) => x.mode === 'incremental')) {
    const c = 1 / r.ratio;
    let dropped = 0;
    let changed = 0;
    let over = 0;
    let worst = 0;
    const n = r.checkpoints.length - 1;
    for (let i = 1; i < r.checkpoints.length; i++) {
      const prev = r.checkpoints[i - 1]!;
      const cur = r.checkpoints[i]!;
      dropped += prev.referencedBytes + cur.uploadedBytes - cur.referencedBytes;
      const expected = cur.changedRawBytes * c;
      changed += expected;
      const factor = expected > 0 ? cur.uploadedBytes / expected : 0;
      if (factor > 2) over++;
      worst = Math.max(worst, factor);
    }
    rows.push(`| ${r.codec} | ${r.style} | ${mb(r.meanUploaded)} | ${mb(dropped / Math.max(1, n))} | ${mb(changed / Math.max(1, n))} | ${over} of ${n} | ${worst.toFixed(2)} |`);
  }
  rows.push('');
  return rows;
}

/** The headline's compaction line: space amplification, level-0 backlog, stalls, compaction speed (ranges over the workloads). */
function compactionHeadline(ws: ConfigResult[]): string {
  const range = (xs: number[], digits: number): string => {
    const [lo, hi] = [Math.min(...xs).toFixed(digits), Math.max(...xs).toFixed(digits)];
    return lo === hi ? lo : `${lo}–${hi}`;
  };
  const k = ws.map((r) => r.keepUp);
  return `- compaction: space amp at the last checkpoint (S / S_c fully compacted) ${range(ws.map((r) => r.spaceAmp), 2)}; level 0 held up to ${range(k.map((x) => x.maxL0AtCheckpoints), 0)} tables at a checkpoint and up to ${range(k.map((x) => x.maxL0Seen), 0)} after any write batch; writers stalled ${range(k.map((x) => x.stallSeconds), 1)} s per workload; compaction input ${range(k.map((x) => x.inputMiBpsPerThread), 1)} MiB/s per thread; the full compaction after the last checkpoint took ${range(ws.map((r) => r.phaseMs.fullCompaction / 1000), 1)} s`;
}

// ------------------------------------------------------------------------------------------
// report.md

/** What the report says about the run as a whole, besides the results. */
export interface ReportInput {
  results: ConfigResult[];
  /** When the run ended (ISO). */
  date: string;
  /** Codec × style workloads run. */
  workloads: number;
  codecs: CompressionName[];
  modes: Mode[];
  styles: Style[];
  jobs: number;
  stateMb: number;
  /** S_o target of the build, bytes. */
  stateBytes: number;
  intervals: number;
  changePct: number;
  wbMb: number;
  tfMb: number;
  retain: number;
  seed: number;
  batchKb: number;
  restoreRounds: number;
  /** Keys of the model's final state. */
  expectedKeys: number;
  /** Skipped codecs and the like. */
  notes: string[];
  /** --detail-all: a per-checkpoint table for every configuration. */
  detailAll: boolean;
  /** Seconds: the whole run, the workloads, the restore timing, CPU (all threads); generation, ms. */
  totalSec: number;
  workloadsSec: number;
  restoreSec: number;
  cpuSec: number;
  genMs: number;
  /** 1-minute load average at the start and at the end. */
  load0: number;
  load1: number;
}

/** The markdown report: headline, tables, per-checkpoint detail, text charts, the model table. */
export function renderReport(input: ReportInput): string {
  const {
    results, date, workloads, codecs, modes, styles, jobs, stateMb, stateBytes, intervals, changePct, wbMb, tfMb, retain, seed, batchKb,
    restoreRounds, expectedKeys, notes, detailAll, totalSec, workloadsSec, restoreSec, cpuSec, genMs, load0, load1,
  } = input;
  const incs = results.filter((r) => r.mode === 'incremental');
  const fulls = results.filter((r) => r.mode === 'full');
  const sum = (rs: ConfigResult[], f: (r: ConfigResult) => number): number => rs.reduce((a, r) => a + f(r), 0);
  const timed = results.filter((r) => r.restore.timing !== undefined);
  const headline: string[] = [
    `- total ${totalSec.toFixed(1)} s: ${workloads} codec × style workloads (${modes.length} modes each, ${jobs} at a time, replaying the workload while it was generated, ${(genMs / 1000).toFixed(1)} s) ${workloadsSec.toFixed(1)} s, restore timing ${restoreSec.toFixed(1)} s; CPU ${cpuSec.toFixed(0)} s (user + system, all threads); 1-minute load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end (${cpus().length} CPUs)`,
  ];
  if (incs.length > 0 && fulls.length > 0) {
    headline.push(`- incremental uploaded ${mb(sum(incs, (r) => r.totalUploaded))} MiB over intervals 1..${intervals} of all configurations, full ${mb(sum(fulls, (r) => r.totalUploaded))} MiB: incremental / full = ${(sum(incs, (r) => r.totalUploaded) / Math.max(1, sum(fulls, (r) => r.totalUploaded))).toFixed(3)}`);
  }
  if (incs.length > 0) {
    const worst = Math.max(0, ...incs.flatMap((r) => r.checkpoints.slice(1).map((c) => c.uploadedBytes / Math.max(1, c.newTableBytes))));
    headline.push(`- incremental ΔS / tables created since the previous checkpoint (physical minimum, metadata not included): ${(sum(incs, (r) => r.totalUploaded) / Math.max(1, sum(incs, (r) => r.totalNewTables))).toFixed(3)} overall, worst single checkpoint ${worst.toFixed(3)}; with metadata ${((sum(incs, (r) => r.totalUploaded + r.totalMetadata)) / Math.max(1, sum(incs, (r) => r.totalNewTables))).toFixed(3)} (target ≤ 1.05 + metadata)`);
  }
  const blocked = results.filter((r) => r.mode === modes[0]).flatMap((r) => r.checkpoints.map((c) => c.writerBlockedMs)); // one pin per checkpoint, shared by the modes
  headline.push(`- writers blocked per checkpoint (the memtable freeze; one pin serves both modes): median ${ms(median(blocked))} ms, max ${ms(Math.max(0, ...blocked))} ms; ${blocked.filter((x) => x > 5).length} of ${blocked.length} pins above 5 ms (target ≤ 5 ms)`);
  if (timed.length > 0) {
    const rr = timed.map((r) => r.restore.timing!);
    headline.push(`- restore from directory storage: median ${median(rr.map((t) => t.restoreMiBps)).toFixed(0)} MiB/s; plain copy ${median(rr.map((t) => t.copyMiBps)).toFixed(0)} MiB/s, copy + fsync ${median(rr.map((t) => t.copySyncMiBps)).toFixed(0)} MiB/s; restore / copy median ${median(rr.map((t) => t.restoreMiBps / t.copyMiBps)).toFixed(2)}, restore / (copy + fsync) median ${median(rr.map((t) => t.restoreMiBps / t.copySyncMiBps)).toFixed(2)} (target ≥ 0.80); CPU time of a restore ${median(rr.map((t) => t.cpuMs.restore / Math.max(1e-3, t.cpuMs.copy))).toFixed(1)}× a plain copy's (median)`);
  }
  if (results.length > 0) headline.push(compactionHeadline(perWorkload(results)));
  const keyChecked = results.filter((r) => r.restore.keys > 0);
  headline.push(`- restore check: ${results.some(checkFailed) ? `**${results.filter(checkFailed).length} of ${results.length} restores failed**` : `all ${results.length} restored last checkpoints passed`} (every restore: the pinned version exactly, CRC32C of every file, ${results[0]?.restore.sampledGets ?? 0} sampled gets incl. deleted keys; ${keyChecked.length} of them also compared with the model key by key, ${expectedKeys} keys: ${keyChecked.map((r) => `${r.codec}/${r.style}/${r.mode}`).join(', ') || 'none'})`);

  const out: string[] = [
    `## checkpoint bench: ${mb(stateBytes)} MiB (${stateMb} MB) raw state, ${intervals} intervals × ~${changePct}% changed`,
    '',
    `- ${date}; node ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    `- options: writeBufferSize ${wbMb} MiB, targetFileSizeBase ${tfMb} MiB, maxBytesForLevelBase ${4 * wbMb} MiB, wal off, retain ${retain}; directory storage on local disk; seed ${seed}; write batches of ${batchKb} KiB`,
    ...notes.map((n) => `- note: ${n}`),
    ...headline,
    '',
    '### Summary (mean over intervals 1..n; the initial checkpoint is excluded)',
    '',
    'Both modes of a codec and style checkpoint the same database at the same pinned versions, so S_o, S_c, S, space amp and the writer-blocked times are the same for both; ΔS is each mode\'s own uploads. S_c is the live tables\' size once the last checkpoint\'s state is fully compacted (compactRange after it), so ratio S_o/S_c is the codec\'s; C₀ is S_o/S at the initial checkpoint. Space amp = S at the last checkpoint / S_c: obsolete versions and tombstones compaction had not dropped. Checkpoint duration = pinning (freeze, wait for the flush; shared) + the mode\'s own upload and metadata time.',
    '',
    ...summaryTable(results),
    '',
    '### Incremental against full (sums over intervals 1..n)',
    '',
    '"changed raw × C": the bytes the changed keys would take compressed at the codec\'s ratio (C = S_c/S_o, fully compacted); incremental/(changed × C) above 1 is what flushes and compaction add on top of the changed data.',
    '',
    ...pairTable(results),
    '',
    '### Incremental uploads against the physical minimum (sums over intervals 1..n)',
    '',
    '"new tables since previous": bytes of the live tables at checkpoint n that were not in the version pinned at checkpoint n−1, i.e. tables flushed or compacted since the previous completed checkpoint. Any table-level incremental scheme has to upload them; ΔS (uploadedBytes) does not include the metadata object, which is shown apart.',
    '',
    ...minimumTable(results),
    '',
    '### Restore of the last checkpoint (directory storage)',
    '',
    `Timed after all workloads finished, nothing else of the benchmark running: restore (restoreCheckpoint: metadata validation, copy, CRC32C and size of every file, fsyncs, MANIFEST/CURRENT) against a plain copy of the same files (fs.copyFile, 4 at a time, no fsync) and that copy followed by an fsync of every file and the directory. The three alternate, rotating which runs first, ${restoreRounds} rounds; medians. Sources are in the page cache for all three. "keys compared": the restore made right after the workload, opened and compared with the model key by key.`,
    '',
    ...restoreTable(results),
    '',
    '### Did compaction keep up? (per codec × style workload, up to the last checkpoint)',
    '',
    'Counters from stats() right after the last checkpoint; the full compaction after it (for S_c) is not counted, only timed. Compactions rewrite tables; trivial moves move a table down a level without I/O. Input MiB/s per thread = bytes read / summed wall time of the compaction jobs. L0 tables: in each checkpoint\'s pinned version, and the most seen after any write batch. Stall s: writers slowed down or stopped on level 0 or pending compaction bytes, plus stalls on full memtables. Pending compaction: the engine\'s estimate of bytes compactions still had to write (leveled only).',
    '',
    ...keepUpTable(results),
    '',
    '### Where the time goes (per codec × style workload)',
    '',
    ...phaseTable(results),
    '',
    '### Per-checkpoint detail',
    '',
  ];
  for (const r of results) {
    if (detailAll || (r.codec === 'lz4' && r.style === 'leveled') || (r.codec === 'lz4' && r.style === 'universal' && r.mode === 'incremental')) out.push(...intervalTable(r));
  }
  out.push('### Charts', '', '```');
  for (const style of styles) {
    const inc = results.find((r) => r.codec === (codecs.includes('lz4') ? 'lz4' : codecs[0]) && r.style === style && r.mode === 'incremental');
    if (inc) {
      out.push(...uploadChart(inc, results.find((r) => r.codec === inc.codec && r.style === style && r.mode === 'full')), '');
    }
  }
  out.push(...ratioChart(results), '', ...spaceAmpChart(results), '```', '');
  out.push(...modelTable(results));
  return out.join('\n');
}

// ------------------------------------------------------------------------------------------
// SVG charts

/** A color per codec (the styles differ by dash) for charts with one series per codec × style. */
const CODEC_COLORS: Record<CompressionName, string> = { none: '#7f7f7f', snappy: '#e6550d', lz4: '#2b7bba', zstd: '#31a354' };

/** SVG charts: checkpoint size over time (incremental against full) per codec and style, size/ratio per codec, space amplification per checkpoint. */
export async function writeCharts(dir: string, results: ConfigResult[]): Promise<string[]> {
  const files: string[] = [];
  for (const inc of results.filter((r) => r.mode === 'incremental')) {
    const full = results.find((r) => r.codec === inc.codec && r.style === inc.style && r.mode === 'full');
    const labels = inc.checkpoints.map((c) => String(c.interval));
    const series = [
      { name: 'incremental ΔS (uploaded)', color: '#2b7bba', values: inc.checkpoints.map((c) => c.uploadedBytes / MiB) },
      { name: 'S (referenced)', color: '#9ecae1', values: inc.checkpoints.map((c) => c.referencedBytes / MiB) },
      ...(full ? [{ name: 'full ΔS (uploaded)', color: '#e6550d', values: full.checkpoints.map((c) => c.uploadedBytes / MiB) }] : []),
    ];
    const name = `size-over-time-${inc.codec}-${inc.style}.svg`;
    await writeFile(join(dir, name), barChart(`Checkpoint size per interval: ${inc.codec}, ${inc.style}`, labels, series, 'MiB'));
    files.push(name);
  }
  const incs = results.filter((r) => r.mode === 'incremental');
  const labels = incs.map((r) => `${r.codec}/${r.style}`);
  await writeFile(join(dir, 'codecs-size.svg'), barChart('Size of the state per codec (incremental runs)', labels, [
    { name: 'S_o raw', color: '#bbbbbb', values: incs.map((r) => r.rawBytes / MiB) },
    { name: 'S (last checkpoint)', color: '#a1d99b', values: incs.map((r) => lastS(r) / MiB) },
    { name: 'S_c fully compacted', color: '#31a354', values: incs.map((r) => r.compressedBytes / MiB) },
  ], 'MiB'));
  await writeFile(join(dir, 'codecs-ratio.svg'), barChart('Compression ratio per codec', labels, [
    { name: 'C₀ initial (S_o / S)', color: '#756bb1', values: incs.map((r) => r.initialRatio) },
    { name: 'codec ratio S_o / S_c (fully compacted)', color: '#bcbddc', values: incs.map((r) => r.ratio) },
  ], 'ratio'));
  const ws = perWorkload(results);
  await writeFile(join(dir, 'space-amp.svg'), lineChart(
    'Space amplification per checkpoint (S / fully compacted size)',
    (ws[0]?.checkpoints ?? []).map((c) => String(c.interval)),
    ws.map((r) => ({ name: `${r.codec}/${r.style}`, color: CODEC_COLORS[r.codec], values: r.spaceAmpByCheckpoint, ...(r.style === 'universal' ? { dash: '6 3' } : {}) })),
    '× fully compacted size',
  ));
  files.push('codecs-size.svg', 'codecs-ratio.svg', 'space-amp.svg');
  return files;
}
