/**
 * The TTL compaction filter of the keyed-state layer, loaded by compaction workers from its
 * spec (`ttlCompactionFilterSpec`). Its options say which state ids expire, after how long and
 * whether their values are lists; the backend replaces them (db.setCompactionFilterOptions)
 * when a state with TTL is registered, and with `nowMs` when it runs on a test clock.
 *
 * Single values whose timestamp expired are removed; lists lose their expired elements (and
 * are removed when none is left). A value it cannot parse is kept: the filter never drops what
 * it does not understand.
 */
import type { CompactionFilter, CompactionFilterDecision, UserFunctionSpec } from '../compaction/merge-operator.js';
import { decodeListElements, encodeStoredElements, readTimestamp, TIMESTAMP_BYTES } from './state-values.js';
import { isExpired } from './ttl.js';

export interface TtlFilterState {
  stateId: number;
  ttlMs: number;
  list: boolean;
}

export interface TtlFilterOptions {
  states: TtlFilterState[];
  /** Fixed "now" (ms) for a test clock; absent: the worker's Date.now(). */
  nowMs?: number;
}

export const TTL_FILTER_NAME = 'lsm-state.TtlCompactionFilter';

export function createTtlCompactionFilter(options: TtlFilterOptions | undefined): CompactionFilter {
  const byId = new Map<number, TtlFilterState>();
  for (const s of options?.states ?? []) byId.set(s.stateId, s);
  const fixedNow = options?.nowMs;
  return {
    name: TTL_FILTER_NAME,
    filter(_level: number, key: Uint8Array, value: Uint8Array): CompactionFilterDecision {
      if (byId.size === 0 || key.length < 2) return 'keep';
      const state = byId.get((key[0]! << 8) | key[1]!);
      if (state === undefined) return 'keep';
      const now = fixedNow ?? Date.now();
      try {
        return state.list ? filterList(value, state.ttlMs, now) : filterSingle(value, state.ttlMs, now);
      } catch {
        return 'keep';
      }
    },
  };
}

function filterSingle(value: Uint8Array, ttlMs: number, now: number): CompactionFilterDecision {
  if (value.length < TIMESTAMP_BYTES) return 'keep';
  return isExpired(readTimestamp(value, 0), ttlMs, now) ? 'remove' : 'keep';
}

function filterList(value: Uint8Array, ttlMs: number, now: number): CompactionFilterDecision {
  const elements = decodeListElements(value, true);
  const live = elements.filter((e) => !isExpired(e.timestamp!, ttlMs, now));
  if (live.length === elements.length) return 'keep';
  if (live.length === 0) return 'remove';
  return encodeStoredElements(live);
}

const here = import.meta.url;

/** The spec a database is opened with; options come later through setCompactionFilterOptions. */
export function ttlCompactionFilterSpec(options: TtlFilterOptions): UserFunctionSpec & { kind: 'compactionFilter' } {
  return { kind: 'compactionFilter', module: here, exportName: 'createTtlCompactionFilter', options };
}
