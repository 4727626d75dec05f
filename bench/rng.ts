/** xorshift32: deterministic, so every run and every engine gets the same bytes and orders. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = (seed >>> 0) || 1;
  }
  next(): number {
    let x = this.#s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#s = x >>> 0;
    return this.#s;
  }
  /** Uniform in [0, n) for n ≤ 2^32 (two draws, so no modulo bias worth mentioning). */
  uniform(n: number): number {
    return Math.floor(((this.next() * 4294967296 + this.next()) / 18446744073709551616) * n);
  }
}
