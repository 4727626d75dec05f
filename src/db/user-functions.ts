/**
 * Resolves the mergeOperator and compactionFilter options at open: a spec is loaded here and
 * again by each worker; a plain object is used as is and keeps compactions on the main thread.
 */
import {
  type CompactionFilter, type MergeOperator, type UserFunctionSpec, checkCompactionFilter, checkMergeOperator,
  isUserFunctionSpec, loadUserFunction,
} from '../compaction/merge-operator.js';
import type { ResolvedOptions } from './options.js';

export interface UserFunctions {
  mergeOperator: MergeOperator | undefined;
  compactionFilter: CompactionFilter | undefined;
  mergeOperatorSpec: UserFunctionSpec | undefined;
  compactionFilterSpec: UserFunctionSpec | undefined;
  /** True when every configured function can be loaded by a worker thread. */
  workerSafe: boolean;
}

async function resolveOne<T>(option: unknown, check: (v: unknown) => asserts v is T): Promise<{ fn: T | undefined; spec: UserFunctionSpec | undefined }> {
  if (option === undefined) return { fn: undefined, spec: undefined };
  if (isUserFunctionSpec(option)) {
    const fn = await loadUserFunction<T>(option);
    check(fn);
    return { fn, spec: { module: option.module, exportName: option.exportName, options: option.options } };
  }
  check(option);
  return { fn: option, spec: undefined };
}

export async function resolveUserFunctions(options: ResolvedOptions): Promise<UserFunctions> {
  const merge = await resolveOne<MergeOperator>(options.mergeOperator, checkMergeOperator);
  const filter = await resolveOne<CompactionFilter>(options.compactionFilter, checkCompactionFilter);
  return {
    mergeOperator: merge.fn,
    compactionFilter: filter.fn,
    mergeOperatorSpec: merge.spec,
    compactionFilterSpec: filter.spec,
    workerSafe: (merge.fn === undefined || merge.spec !== undefined) && (filter.fn === undefined || filter.spec !== undefined),
  };
}
