/**
 * The checkpoint benchmark's workload: a seeded model of a stream processor's keyed state (user
 * profiles, clicks and sessions, per-minute aggregation windows), the encoder that writes its
 * operations as WriteBatch reps into one SharedArrayBuffer, the feed through which runs (in this
 * thread or in worker threads) receive each phase as soon as it is generated, and the generator
 * itself, which also produces the final state, sorted, for the restore checks.
 */
import { MiB, tick } from './common.js';

// ------------------------------------------------------------------------------------------
// Seeded PRNG and the state model

/** mulberry32: small, fast, seeded. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COUNTRIES = ['DE', 'US', 'FR', 'GB', 'IN', 'BR', 'JP', 'NL'];
const DEVICES = ['ios', 'android', 'web'];
const PLANS = ['free', 'pro', 'team'];
const LANGS = ['de', 'en', 'fr', 'pt', 'ja', 'nl'];
const PAGES = ['/home', '/cart', '/search', '/product', '/checkout', '/account', '/help'];
const USER_FIELDS = ['profile', 'clicks', 'session'] as const;
const DIMS: string[] = [];
for (const c of COUNTRIES) for (const d of DEVICES) for (const p of PLANS) DIMS.push(`country=${c},device=${d},plan=${p}`);

/** Two hex digits per byte value. */
const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Where the model's operations go (the batch encoder). */
interface OpSink {
  put(key: string, value: string): void;
  del(key: string): void;
}

/** The live state (key → value) plus what the workload needs to pick keys. */
class Model {
  /** Live keys and their values in parallel arrays (a delete moves the last entry into the hole), and each key's slot. */
  readonly #keys: string[] = [];
  readonly #vals: string[] = [];
  readonly #slot = new Map<string, number>();
  readonly #windows: { minute: number; keys: string[] }[] = [];
  #nextUser = 0;
  #nextMinute = 0;
  rawBytes = 0;
  readonly #r: () => number;
  readonly #t0 = 1714000000000;

  constructor(seed: number) {
    this.#r = prng(seed);
  }

  get size(): number {
    return this.#keys.length;
  }

  /** The live keys (unordered). */
  get keys(): readonly string[] {
    return this.#keys;
  }

  valueOf(key: string): string | undefined {
    const i = this.#slot.get(key);
    return i === undefined ? undefined : this.#vals[i];
  }

  #int(n: number): number {
    return Math.floor(this.#r() * n);
  }
  #pick<T>(a: readonly T[]): T {
    return a[this.#int(a.length)]!;
  }
  #hex(n: number): string {
    let s = '';
    while (s.length < n) {
      const x = (this.#r() * 0x100000000) >>> 0;
      s += HEX2[x >>> 24]! + HEX2[(x >>> 16) & 0xff]! + HEX2[(x >>> 8) & 0xff]! + HEX2[x & 0xff]!;
    }
    return s.slice(0, n);
  }
  #userKey(id: number, field: string): string {
    return `user:${String(id).padStart(9, '0')}:${field}`;
  }
  #windowName(minute: number): string {
    return new Date(this.#t0 + minute * 60000).toISOString().slice(0, 16);
  }

  #userValue(field: string, prev: string | undefined): string {
    switch (field) {
      case 'profile':
        return `{"country":"${this.#pick(COUNTRIES)}","plan":"${this.#pick(PLANS)}","lang":"${this.#pick(LANGS)}","signup":"2023-${String(1 + this.#int(12)).padStart(2, '0')}-${String(1 + this.#int(28)).padStart(2, '0')}"}`;
      case 'clicks': {
        const n = prev === undefined ? this.#int(50) : Number(/"n":(\d+)/.exec(prev)?.[1] ?? 0) + 1 + this.#int(20);
        return `{"n":${n},"last":${this.#t0 + this.#int(86400000)}}`;
      }
      default: {
        const pages: string[] = [];
        for (let i = 1 + this.#int(4); i > 0; i--) pages.push(`"${this.#pick(PAGES)}"`);
        return `{"sid":"s-${this.#hex(8)}","pages":[${pages.join(',')}],"dur":${this.#int(4000)}}`;
      }
    }
  }

  #aggValue(prev: string | undefined): string {
    let count = 1 + this.#int(30);
    let sum = Math.round(this.#r() * 50000) / 100;
    if (prev !== undefined) {
      count += Number(/"count":(\d+)/.exec(prev)?.[1] ?? 0);
      sum += Number(/"sum":([\d.]+)/.exec(prev)?.[1] ?? 0);
    }
    return `{"count":${count},"sum":${sum.toFixed(2)},"min":${(this.#r() * 5).toFixed(2)},"max":${(50 + this.#r() * 50).toFixed(2)},"hll":"${this.#hex(16)}"}`;
  }

  #set(ops: OpSink, key: string, value: string): number {
    const i = this.#slot.get(key);
    if (i === undefined) {
      this.#slot.set(key, this.#keys.length);
      this.#keys.push(key);
      this.#vals.push(value);
      this.rawBytes += key.length + value.length;
    } else {
      this.rawBytes += value.length - this.#vals[i]!.length;
      this.#vals[i] = value;
    }
    ops.put(key, value);
    return key.length + value.length;
  }

  /** Sets the value of the live key in slot `i`. */
  #update(ops: OpSink, i: number, value: string): number {
    const key = this.#keys[i]!;
    this.rawBytes += value.length - this.#vals[i]!.length;
    this.#vals[i] = value;
    ops.put(key, value);
    return key.length + value.length;
  }

  #del(ops: OpSink, key: string): number {
    const i = this.#slot.get(key);
    if (i === undefined) return 0;
    this.rawBytes -= key.length + this.#vals[i]!.length;
    const lastKey = this.#keys.pop()!;
    const lastVal = this.#vals.pop()!;
    if (lastKey !== key) {
      this.#keys[i] = lastKey;
      this.#vals[i] = lastVal;
      this.#slot.set(lastKey, i);
    }
    this.#slot.delete(key);
    ops.del(key);
    return key.length;
  }

  #insertUser(ops: OpSink): number {
    const id = this.#nextUser++;
    let b = 0;
    for (const f of USER_FIELDS) b += this.#set(ops, this.#userKey(id, f), this.#userValue(f, undefined));
    return b;
  }

  #insertWindow(ops: OpSink): number {
    const minute = this.#nextMinute++;
    const w = this.#windowName(minute);
    const keys: string[] = [];
    let b = 0;
    for (const dim of DIMS) {
      if (this.#r() < 0.6) continue; // a window sees ~40% of the dimension combinations
      const k = `agg:${w}:${dim}`;
      keys.push(k);
      b += this.#set(ops, k, this.#aggValue(undefined));
    }
    this.#windows.push({ minute, keys });
    return b;
  }

  #insert(ops: OpSink): number {
    return this.#r() < 0.75 ? this.#insertUser(ops) : this.#insertWindow(ops);
  }

  /** Initial state of about `bytes` raw bytes. */
  build(bytes: number, ops: OpSink): void {
    while (this.rawBytes < bytes) this.#insert(ops);
  }

  /** One interval: changes about `bytes` raw bytes. Returns the bytes changed. */
  interval(bytes: number, ops: OpSink): number {
    let changed = 0;
    while (changed < bytes) {
      const x = this.#r();
      if (x < 0.7 && this.#keys.length > 0) {
        // update, skewed toward a hot fraction of the keys (r^3 concentrates on the front)
        const i = Math.floor(this.#r() ** 3 * this.#keys.length);
        const key = this.#keys[i]!;
        const prev = this.#vals[i]!;
        const value = key.startsWith('agg:') ? this.#aggValue(prev) : this.#userValue(key.slice(key.lastIndexOf(':') + 1), prev);
        changed += this.#update(ops, i, value);
      } else if (x < 0.88 || this.#keys.length === 0) {
        changed += this.#insert(ops);
      } else if (this.#r() < 0.5 && this.#windows.length > 1) {
        const w = this.#windows.shift()!; // the oldest window expires
        for (const k of w.keys) changed += this.#del(ops, k);
      } else {
        const key = this.#keys[this.#int(this.#keys.length)]!;
        if (key.startsWith('user:')) {
          const base = key.slice(0, key.lastIndexOf(':') + 1); // a churned user: all fields go
          for (const f of USER_FIELDS) changed += this.#del(ops, base + f);
        } else {
          changed += this.#del(ops, key);
        }
      }
    }
    return changed;
  }
}

// ------------------------------------------------------------------------------------------
// The workload, generated once: write-batch reps in one shared buffer, and the final state, sorted

/**
 * Encodes the model's operations as WriteBatch reps (docs/format/write-batch.md) back to back in
 * one buffer shared with the worker threads, which replay each phase as soon as it is written.
 */
export class BatchEncoder implements OpSink {
  readonly buf: Buffer;
  #pos = 0;
  #start = 0;
  #count = 0;
  readonly #batchBytes: number;
  /** [start, end) of every finished batch of the current phase. */
  #ranges: number[] = [];

  constructor(capacity: number, batchBytes: number) {
    this.buf = Buffer.from(new SharedArrayBuffer(capacity));
    this.#batchBytes = batchBytes;
    this.#begin();
  }

  /** Bytes used. */
  get length(): number {
    return this.#start;
  }

  #begin(): void {
    this.#ensure(12);
    this.#start = this.#pos;
    this.buf.fill(0, this.#pos, this.#pos + 12); // sequence 0 (the write path assigns it), count
    this.#pos += 12;
    this.#count = 0;
  }

  #ensure(n: number): void {
    if (this.#pos + n > this.buf.length) throw new Error(`workload larger than its buffer (${this.buf.length} bytes); raise the estimate in batchCapacity()`);
  }

  #varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.#pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.#pos++] = n;
  }

  #str(s: string): void {
    this.#varint(s.length); // ASCII: one byte per character
    this.#pos += this.buf.write(s, this.#pos, 'latin1');
  }

  put(key: string, value: string): void {
    this.#ensure(11 + key.length + value.length);
    this.buf[this.#pos++] = 1; // ValueKind.Value
    this.#str(key);
    this.#str(value);
    this.#added();
  }

  del(key: string): void {
    this.#ensure(6 + key.length);
    this.buf[this.#pos++] = 0; // ValueKind.Deletion
    this.#str(key);
    this.#added();
  }

  #added(): void {
    this.#count++;
    if (this.#pos - this.#start >= this.#batchBytes) this.#cut();
  }

  #cut(): void {
    if (this.#count === 0) return;
    this.buf.writeUInt32LE(this.#count, this.#start + 8);
    this.#ranges.push(this.#start, this.#pos);
    this.#begin();
  }

  /** Ends the current phase: its batches. */
  endPhase(): number[] {
    this.#cut();
    const r = this.#ranges;
    this.#ranges = [];
    return r;
  }
}

/** Room for every batch: the raw bytes written plus per-operation framing, with a wide margin. */
export function batchCapacity(stateBytes: number, intervals: number, changePct: number): number {
  return Math.ceil(stateBytes * (1 + (intervals * changePct) / 100) * 1.5) + 16 * MiB;
}

export interface PhaseSpec {
  /** [start, end) pairs into the batch buffer. */
  ranges: number[];
  /** Raw bytes (key + value) the phase wrote or deleted (interval 0: the initial state). */
  changedRawBytes: number;
  /** S_o after the phase: live key + value bytes of the model. */
  rawBytes: number;
  ops: number;
}

export interface FinalState {
  /** The final state, sorted by key: [u16 key length][key][u32 value length][value]... */
  expected: Uint8Array;
  expectedKeys: number;
  /** Keys the workload deleted (never written again: user ids and windows are not reused). */
  deletedSample: string[];
}

/**
 * The workload as the runs see it: the batch buffer, the phases generated so far (the generator
 * adds them while the first runs replay the early ones) and, at the end, the final state.
 */
export class WorkloadFeed {
  readonly batches: Uint8Array;
  readonly phases: PhaseSpec[] = [];
  final: FinalState | undefined;
  #failed: unknown;
  #waiters: (() => void)[] = [];

  constructor(batches: Uint8Array) {
    this.batches = batches;
  }

  addPhase(p: PhaseSpec): void {
    this.phases.push(p);
    this.#wake();
  }

  setFinal(f: FinalState): void {
    this.final = f;
    this.#wake();
  }

  /** The generator failed: every run waiting for a phase fails too. */
  fail(err: unknown): void {
    this.#failed = err ?? new Error('workload generation failed');
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async phase(i: number): Promise<PhaseSpec> {
    while (this.phases.length <= i) await this.#wait();
    return this.phases[i]!;
  }

  async finalState(): Promise<FinalState> {
    while (this.final === undefined) await this.#wait();
    return this.final;
  }

  async #wait(): Promise<void> {
    if (this.#failed !== undefined) throw this.#failed;
    await new Promise<void>((res) => this.#waiters.push(res));
    if (this.#failed !== undefined) throw this.#failed;
  }
}

/**
 * Generates the workload into `feed`, one phase at a time (phase 0: the initial state; then one
 * per interval), calling `published` after each phase and once more after the final state.
 */
export async function generateWorkload(
  feed: WorkloadFeed, enc: BatchEncoder, stateBytes: number, intervals: number, changePct: number, seed: number,
  published: (what: { phase: PhaseSpec } | { final: FinalState }) => void,
): Promise<void> {
  const model = new Model(seed);
  let ops = 0;
  let deletes = 0;
  const deletedSample: string[] = [];
  const counting: OpSink = {
    put: (k, v) => {
      ops++;
      enc.put(k, v);
    },
    del: (k) => {
      ops++;
      if (deletes++ % 97 === 0 && deletedSample.length < 1000) deletedSample.push(k);
      enc.del(k);
    },
  };
  const publish = (changedRawBytes: number): void => {
    const phase: PhaseSpec = { ranges: enc.endPhase(), changedRawBytes, rawBytes: model.rawBytes, ops };
    feed.addPhase(phase);
    published({ phase });
  };
  model.build(stateBytes, counting);
  publish(model.rawBytes);
  for (let i = 1; i <= intervals; i++) {
    await tick(); // let this thread's runs (jobs 1: none) and messages move between phases
    ops = 0;
    publish(model.interval((model.rawBytes * changePct) / 100, counting));
  }
  const keys = [...model.keys].sort(); // ASCII keys: UTF-16 order is bytewise order
  const vals = keys.map((k) => model.valueOf(k)!);
  let size = 0;
  for (let i = 0; i < keys.length; i++) size += 6 + keys[i]!.length + vals[i]!.length;
  const expected = Buffer.from(new SharedArrayBuffer(size));
  let pos = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = vals[i]!;
    pos = expected.writeUInt16LE(k.length, pos);
    pos += expected.write(k, pos, 'latin1');
    pos = expected.writeUInt32LE(v.length, pos);
    pos += expected.write(v, pos, 'latin1');
  }
  const final: FinalState = { expected, expectedKeys: keys.length, deletedSample };
  feed.setFinal(final);
  published({ final });
}
