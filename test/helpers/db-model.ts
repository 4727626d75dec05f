/**
 * Shared pieces of the model-based database tests: a fixed pool of binary keys (prefixes of each
 * other, the empty key, 0x00/0xff bytes, keys longer than 32 bytes), value generators, a Map
 * model, and checks that a Database (optionally through a snapshot) agrees with a model.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Database, IteratorOptions, Snapshot } from '../../src/index.js';
import { hex } from './fc-params.js';

const LONG = 'aa'.repeat(40);

/** Hex of every key the tests write. */
export const KEY_POOL: readonly string[] = [
  '', '00', '0000', '01', '61', '6161', '616161', '6162', '616200', '62', '7f', '80', 'fe', 'ff', 'ffff', 'ff00',
  LONG, `${LONG}00`, `${LONG}61`, `${LONG}ff`,
];

/** Bounds: pool keys plus keys between and beyond them. */
export const BOUND_POOL: readonly string[] = [...KEY_POOL, '6100', '6163', '63', '00ff', 'ffffff', `${LONG}6161`];

export const keyIndexArb = fc.integer({ min: 0, max: KEY_POOL.length - 1 });

export const keyOf = (i: number): Uint8Array => new Uint8Array(Buffer.from(KEY_POOL[i]!, 'hex'));

/** n bytes of `b`, printed as `filled(n, b)` in counterexamples instead of n numbers. */
export function filled(n: number, b: number): Uint8Array {
  const v = new Uint8Array(n).fill(b);
  Object.defineProperty(v, fc.toStringMethod, { value: () => `filled(${n}, ${b})` });
  return v;
}

/** Mostly small values, sometimes a few hundred bytes, rarely larger than a 4 KiB write buffer. */
export const valueArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 24 }) },
  { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 100, max: 700 }), fc.integer({ min: 0, max: 255 })).map(([n, b]) => filled(n, b)) },
  { weight: 1, arbitrary: fc.integer({ min: 4000, max: 9000 }).map((n) => filled(n, n & 0xff)) },
);

export type Model = Map<string, Uint8Array>;

export interface IterSpec {
  lower?: { kind: 'gt' | 'gte'; key: string };
  upper?: { kind: 'lt' | 'lte'; key: string };
  reverse: boolean;
  limit?: number;
}

export const iterSpecArb: fc.Arbitrary<IterSpec> = fc.record(
  {
    lower: fc.record({ kind: fc.constantFrom('gt' as const, 'gte' as const), key: fc.constantFrom(...BOUND_POOL) }),
    upper: fc.record({ kind: fc.constantFrom('lt' as const, 'lte' as const), key: fc.constantFrom(...BOUND_POOL) }),
    reverse: fc.boolean(),
    limit: fc.integer({ min: 0, max: 8 }),
  },
  { requiredKeys: ['reverse'] },
);

export function iteratorOptions(spec: IterSpec, snapshot?: Snapshot): IteratorOptions {
  const o: IteratorOptions = { reverse: spec.reverse };
  if (spec.lower) o[spec.lower.kind] = new Uint8Array(Buffer.from(spec.lower.key, 'hex'));
  if (spec.upper) o[spec.upper.kind] = new Uint8Array(Buffer.from(spec.upper.key, 'hex'));
  if (spec.limit !== undefined) o.limit = spec.limit;
  if (snapshot) o.snapshot = snapshot;
  return o;
}

/** What the iterator must return, as [hex key, hex value] pairs. */
export function expectedScan(model: Model, spec: IterSpec): [string, string][] {
  const cmp = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
  let keys = [...model.keys()].sort(cmp);
  const { lower, upper } = spec;
  if (lower) keys = keys.filter((k) => (lower.kind === 'gt' ? cmp(k, lower.key) > 0 : cmp(k, lower.key) >= 0));
  if (upper) keys = keys.filter((k) => (upper.kind === 'lt' ? cmp(k, upper.key) < 0 : cmp(k, upper.key) <= 0));
  if (spec.reverse) keys.reverse();
  if (spec.limit !== undefined) keys = keys.slice(0, spec.limit);
  return keys.map((k) => [k, hex(model.get(k)!)]);
}

export function scan(db: Database, spec: IterSpec, snapshot?: Snapshot): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of db.iterator(iteratorOptions(spec, snapshot))) out.push([hex(k), hex(v)]);
  return out;
}

/** Every pool key reads as the model says, and a full scan both ways returns exactly the model. */
export function checkAgainstModel(db: Database, model: Model, what: string, snapshot?: Snapshot): void {
  for (const k of KEY_POOL) {
    const got = db.get(new Uint8Array(Buffer.from(k, 'hex')), snapshot ? { snapshot } : undefined);
    const want = model.get(k);
    expect(got === undefined ? undefined : hex(got), `${what}: get(${k})`).toBe(want === undefined ? undefined : hex(want));
  }
  expect(scan(db, { reverse: false }, snapshot), `${what}: forward scan`).toEqual(expectedScan(model, { reverse: false }));
  expect(scan(db, { reverse: true }, snapshot), `${what}: reverse scan`).toEqual(expectedScan(model, { reverse: true }));
}

/** Compaction settings small enough that 4 KiB memtables trigger compactions into deep levels. */
export interface CompactionConfig {
  compactionStyle: 'leveled' | 'universal';
  level0FileNumCompactionTrigger: number;
  maxBytesForLevelBase: number;
  targetFileSizeBase: number;
  levelCompactionDynamicLevelBytes: boolean;
}

export const compactionConfigArb: fc.Arbitrary<CompactionConfig> = fc.record({
  compactionStyle: fc.constantFrom('leveled' as const, 'universal' as const),
  level0FileNumCompactionTrigger: fc.integer({ min: 1, max: 4 }),
  maxBytesForLevelBase: fc.constantFrom(2048, 8192, 32768),
  targetFileSizeBase: fc.constantFrom(512, 2048, 8192),
  levelCompactionDynamicLevelBytes: fc.boolean(),
});

/** Bounds for compactRange: none, or two pool keys (either may be missing). */
export const compactBoundsArb: fc.Arbitrary<{ start?: string; end?: string }> = fc.record(
  { start: fc.constantFrom(...BOUND_POOL), end: fc.constantFrom(...BOUND_POOL) },
  { requiredKeys: [] },
);

