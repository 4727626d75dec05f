/**
 * State time-to-live as Flink's StateTtlConfig: an entry carries the time it was last written
 * (or read, with 'onReadAndWrite'); it expires `ttlMs` later. Expired entries are not returned
 * when visibility is 'neverReturnExpired' (and are deleted when a read meets them), and are
 * removed for good by the TTL compaction filter (ttl-compaction-filter.ts).
 */

export type TtlUpdateType = 'onCreateAndWrite' | 'onReadAndWrite';
export type TtlVisibility = 'neverReturnExpired' | 'returnExpiredIfNotCleanedUp';

export interface StateTtlConfig {
  ttlMs: number;
  /** When the timestamp is refreshed. Default 'onCreateAndWrite'. */
  updateType?: TtlUpdateType;
  /** Whether a read may return an expired entry not yet cleaned up. Default 'neverReturnExpired'. */
  visibility?: TtlVisibility;
}

export interface ResolvedTtl {
  ttlMs: number;
  updateType: TtlUpdateType;
  visibility: TtlVisibility;
}

export function resolveTtl(ttl: StateTtlConfig | undefined, stateName: string): ResolvedTtl | undefined {
  if (ttl === undefined) return undefined;
  if (typeof ttl !== 'object' || ttl === null) throw new TypeError(`state ${stateName}: ttl must be an object`);
  if (typeof ttl.ttlMs !== 'number') throw new TypeError(`state ${stateName}: ttl.ttlMs must be a number`);
  if (!Number.isSafeInteger(ttl.ttlMs) || ttl.ttlMs < 1) throw new RangeError(`state ${stateName}: ttl.ttlMs must be a positive integer`);
  const updateType = ttl.updateType ?? 'onCreateAndWrite';
  if (updateType !== 'onCreateAndWrite' && updateType !== 'onReadAndWrite') {
    throw new RangeError(`state ${stateName}: ttl.updateType must be 'onCreateAndWrite' or 'onReadAndWrite'`);
  }
  const visibility = ttl.visibility ?? 'neverReturnExpired';
  if (visibility !== 'neverReturnExpired' && visibility !== 'returnExpiredIfNotCleanedUp') {
    throw new RangeError(`state ${stateName}: ttl.visibility must be 'neverReturnExpired' or 'returnExpiredIfNotCleanedUp'`);
  }
  return { ttlMs: ttl.ttlMs, updateType, visibility };
}

/** Flink's rule: expired once `lastAccess + ttl <= now`. */
export function isExpired(timestamp: number, ttlMs: number, now: number): boolean {
  return timestamp + ttlMs <= now;
}
