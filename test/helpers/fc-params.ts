/**
 * fast-check parameters shared by the property and crash tests. fast-check prints the seed (and
 * the shrunk path) of a failure; rerun it with FC_SEED=<seed> (and FC_PATH=<path> to replay the
 * counterexample directly). FC_RUNS overrides the run count; STRESS=1 multiplies the defaults.
 */
import type { Parameters } from 'fast-check';

export const STRESS = process.env['STRESS'] === '1';

/** Per-test timeout: stress runs (or a large FC_RUNS) take minutes, not the default minute. */
export const PROPERTY_TIMEOUT = STRESS || process.env['FC_RUNS'] !== undefined ? 60 * 60_000 : 60_000;

/** `runs` runs by default (kept small so test/property + test/crash stay under a minute). */
export function fcParams<T>(runs: number, stressRuns = runs * 50): Parameters<T> {
  const seed = process.env['FC_SEED'];
  const path = process.env['FC_PATH'];
  const numRuns = Number(process.env['FC_RUNS'] ?? (STRESS ? stressRuns : runs));
  return {
    numRuns,
    ...(seed === undefined ? {} : { seed: Number(seed) }),
    ...(path === undefined ? {} : { path }),
  };
}

/** A small deterministic PRNG (mulberry32) for torn-tail choices inside one run. */
export function seededRandom(seed: number): { nextInt: (n: number) => number } {
  let a = seed >>> 0;
  return {
    nextInt(n: number): number {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      return Math.floor(r * n);
    },
  };
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
