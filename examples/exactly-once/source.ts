/**
 * The replayable source: `partitions` partitions of `recordsPerPartition` records each. The
 * record at (partition, offset) is a pure function of (seed, partition, offset), like a Kafka
 * topic that keeps its log: a source restarted from an offset replays exactly the records that
 * followed it. A source's checkpointed state is nothing but its offsets.
 *
 * `expectedResults` is the failure-free answer: a plain in-memory fold over the same records.
 */

export interface SourceConfig {
  partitions: number;
  recordsPerPartition: number;
  /** Number of distinct keys (skewed: low key numbers are more frequent). */
  keys: number;
  seed: number;
}

export interface SourceRecord {
  partition: number;
  offset: number;
  key: string;
  /** An integer in -50..99. */
  amount: number;
}

/** A 32-bit integer hash (the finaliser of MurmurHash3) of several integers. */
function mix(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    h = Math.imul(h ^ (v | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** The record at `offset` of `partition`: always the same for the same config. */
export function recordAt(config: SourceConfig, partition: number, offset: number): SourceRecord {
  const u = mix(config.seed, partition, offset, 1) / 2 ** 32;
  const key = `key-${Math.floor(config.keys * u * u)}`;
  const amount = (mix(config.seed, partition, offset, 2) % 150) - 50;
  return { partition, offset, key, amount };
}

/** What the pipeline keeps per key (operator.ts): the same fields, computed without any failure. */
export interface KeyResult {
  sum: bigint;
  count: bigint;
  /** Partition → the highest offset of this key in that partition. */
  lastOffsets: Record<number, number>;
  /** Every event of the key as `partition:offset`, sorted (each must be there exactly once). */
  events: string[];
}

export function compareEvents(a: string, b: string): number {
  const [pa, oa] = a.split(':').map(Number) as [number, number];
  const [pb, ob] = b.split(':').map(Number) as [number, number];
  return pa - pb || oa - ob;
}

/**
 * The per-key results of the records before `offsets` (default: every record), folded in
 * memory: what a run without failures must end with, or what a checkpoint taken at those
 * offsets must hold.
 */
export function expectedResults(config: SourceConfig, offsets?: readonly number[]): Map<string, KeyResult> {
  const results = new Map<string, KeyResult>();
  for (let p = 0; p < config.partitions; p++) {
    const end = offsets?.[p] ?? config.recordsPerPartition;
    for (let o = 0; o < end; o++) {
      const r = recordAt(config, p, o);
      let k = results.get(r.key);
      if (k === undefined) results.set(r.key, (k = { sum: 0n, count: 0n, lastOffsets: {}, events: [] }));
      k.sum += BigInt(r.amount);
      k.count += 1n;
      k.lastOffsets[p] = o;
      k.events.push(`${p}:${o}`);
    }
  }
  for (const k of results.values()) k.events.sort(compareEvents);
  return results;
}

/** Human-readable differences between two result maps (at most `limit`); empty when equal. */
export function diffResults(actual: Map<string, KeyResult>, expected: Map<string, KeyResult>, limit = 5): string[] {
  const out: string[] = [];
  const show = (r: KeyResult | undefined): string =>
    r === undefined ? 'absent' : `sum ${r.sum}, count ${r.count}, ${r.events.length} events, lastOffsets ${JSON.stringify(r.lastOffsets)}`;
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    const a = actual.get(key);
    const e = expected.get(key);
    const same = a !== undefined && e !== undefined && a.sum === e.sum && a.count === e.count
      && JSON.stringify(a.lastOffsets) === JSON.stringify(e.lastOffsets) && a.events.join() === e.events.join();
    if (same) continue;
    let detail = '';
    if (a !== undefined && e !== undefined) {
      const seen = new Set(a.events);
      const expectedSet = new Set(e.events);
      const missing = e.events.filter((x) => !seen.has(x));
      const extra = a.events.filter((x) => !expectedSet.has(x));
      const duplicates = a.events.length - seen.size;
      detail = ` (missing events ${missing.slice(0, 5).join(' ')}${missing.length > 5 ? ' ...' : ''}; unexpected ${extra.slice(0, 5).join(' ')}; duplicates ${duplicates})`;
    }
    out.push(`${key}: got ${show(a)}; expected ${show(e)}${detail}`);
    if (out.length >= limit) break;
  }
  return out;
}
