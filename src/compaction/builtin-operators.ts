/**
 * Built-in merge operators, loadable by worker threads through their specs
 * (see merge-operator.ts). `MergeOperators.concat()` is what the keyed-state layer's ListState
 * uses: each operand is a self-delimiting element, so appending is byte concatenation.
 */
import type { MergeOperator, UserFunctionSpec } from './merge-operator.js';

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Appends operands to the existing value, byte for byte. */
export function createConcat(): MergeOperator {
  return {
    name: 'lsm-state.Concat',
    fullMerge: (_key, existing, operands) => concatBytes(existing ? [existing, ...operands] : operands),
    partialMerge: (_key, left, right) => concatBytes([left, right]),
  };
}

/** RocksDB's StringAppendOperator: joins existing value and operands with a delimiter. */
export function createStringAppend(options?: { delimiter?: string }): MergeOperator {
  const delimiter = new TextEncoder().encode(options?.delimiter ?? ',');
  const join = (parts: readonly Uint8Array[]): Uint8Array => {
    const withDelims: Uint8Array[] = [];
    parts.forEach((p, i) => {
      if (i > 0) withDelims.push(delimiter);
      withDelims.push(p);
    });
    return concatBytes(withDelims);
  };
  return {
    name: 'lsm-state.StringAppend',
    fullMerge: (_key, existing, operands) => join(existing ? [existing, ...operands] : operands),
    partialMerge: (_key, left, right) => join([left, right]),
  };
}

/** RocksDB's UInt64AddOperator: 8-byte little-endian unsigned counters that add up (mod 2^64). */
export function createUint64Add(): MergeOperator {
  const read = (b: Uint8Array | undefined): bigint =>
    b === undefined || b.length !== 8 ? 0n : new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  const write = (v: bigint): Uint8Array => {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    return out;
  };
  return {
    name: 'lsm-state.UInt64Add',
    fullMerge: (_key, existing, operands) => write(operands.reduce((sum, o) => sum + read(o), read(existing))),
    partialMerge: (_key, left, right) => write(read(left) + read(right)),
  };
}

const here = import.meta.url;

function spec(exportName: string, options?: unknown): UserFunctionSpec & { kind: 'mergeOperator' } {
  return { kind: 'mergeOperator', module: here, exportName, options };
}

/** Specs of the built-in operators, to pass as the `mergeOperator` option. */
export const MergeOperators = {
  concat: () => spec('createConcat'),
  stringAppend: (delimiter = ',') => spec('createStringAppend', { delimiter }),
  uint64Add: () => spec('createUint64Add'),
} as const;
