/**
 * Merge operators and compaction filters: user functions that run inside reads and
 * compactions. Compactions run on a worker thread, which cannot receive functions, so each is
 * described by a spec a worker can load: an ES module URL, the name of an exported factory,
 * and JSON options; `factory(options)` returns the operator (RocksDB names operators so a
 * database opened with a different one is detected; we keep the name for the same reason).
 *
 * A plain object (no spec) works too; compactions then run on the main thread.
 */

/** RocksDB's MergeOperator, with operands oldest first. */
export interface MergeOperator {
  readonly name: string;
  /** The value after applying `operands` (oldest first) to `existing` (undefined: none or deleted). */
  fullMerge(key: Uint8Array, existing: Uint8Array | undefined, operands: readonly Uint8Array[]): Uint8Array;
  /** Combines two adjacent operands (left is older) into one, or undefined when it cannot. */
  partialMerge?(key: Uint8Array, left: Uint8Array, right: Uint8Array): Uint8Array | undefined;
}

/** What a compaction filter decides for one value: keep it, remove it, or replace it. */
export type CompactionFilterDecision = 'keep' | 'remove' | Uint8Array;

/** RocksDB's CompactionFilter: sees each value a compaction would keep (not hidden by a snapshot). */
export interface CompactionFilter {
  readonly name: string;
  filter(level: number, key: Uint8Array, value: Uint8Array): CompactionFilterDecision;
}

/** Where a worker finds a user function: `(await import(module))[exportName](options)`. */
export interface UserFunctionSpec {
  module: string;
  exportName: string;
  options?: unknown;
}

export type MergeOperatorOption = MergeOperator | (UserFunctionSpec & { kind: 'mergeOperator' });
export type CompactionFilterOption = CompactionFilter | (UserFunctionSpec & { kind: 'compactionFilter' });

export function isUserFunctionSpec(v: unknown): v is UserFunctionSpec {
  const s = v as Partial<UserFunctionSpec> | null;
  return typeof s === 'object' && s !== null && typeof s.module === 'string' && typeof s.exportName === 'string';
}

/** Loaded functions by spec; bounded, since options may change over a database's life (setCompactionFilterOptions). */
const loaded = new Map<string, unknown>();
const MAX_LOADED = 64;

/** Loads (once per spec) the operator a spec describes. */
export async function loadUserFunction<T>(spec: UserFunctionSpec): Promise<T> {
  const key = `${spec.module}#${spec.exportName}#${JSON.stringify(spec.options ?? null)}`;
  const hit = loaded.get(key);
  if (hit !== undefined) return hit as T;
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const factory = mod[spec.exportName];
  if (typeof factory !== 'function') throw new TypeError(`${spec.module} has no exported factory ${spec.exportName}`);
  const made = (factory as (o: unknown) => T)(spec.options);
  if (loaded.size >= MAX_LOADED) loaded.delete(loaded.keys().next().value!);
  loaded.set(key, made);
  return made;
}

export function checkMergeOperator(op: unknown): asserts op is MergeOperator {
  const m = op as Partial<MergeOperator> | null;
  if (typeof m !== 'object' || m === null || typeof m.name !== 'string' || typeof m.fullMerge !== 'function') {
    throw new TypeError('mergeOperator must have a name and a fullMerge function (or be a { kind, module, exportName } spec)');
  }
}

export function checkCompactionFilter(f: unknown): asserts f is CompactionFilter {
  const c = f as Partial<CompactionFilter> | null;
  if (typeof c !== 'object' || c === null || typeof c.name !== 'string' || typeof c.filter !== 'function') {
    throw new TypeError('compactionFilter must have a name and a filter function (or be a { kind, module, exportName } spec)');
  }
}
