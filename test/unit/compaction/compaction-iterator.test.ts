import { describe, expect, it } from 'vitest';
import { ValueKind, kindOf, makeInternalKey, sequenceOf, userKeyOf } from '../../../src/base/internal-key.js';
import { FragmentedRangeTombstones, type RangeTombstone } from '../../../src/base/range-tombstone.js';
import { createConcat } from '../../../src/compaction/builtin-operators.js';
import { CompactionIterator, type CompactionIteratorOptions } from '../../../src/compaction/compaction-iterator.js';
import type { CompactionFilter } from '../../../src/compaction/merge-operator.js';
import { ArrayIterator } from '../../helpers/array-iterator.js';
import { bytes, text } from '../../helpers/temp-dir.js';

type E = [key: string, seq: number, kind: ValueKind, value?: string];
const KIND = { [ValueKind.Value]: 'put', [ValueKind.Deletion]: 'del', [ValueKind.Merge]: 'merge', [ValueKind.RangeDeletion]: 'rdel' } as Record<number, string>;

function run(entries: E[], options: Partial<CompactionIteratorOptions> & { tombstones?: RangeTombstone[] } = {}): string[] {
  const input = new ArrayIterator(entries.map(([k, s, kind, v]) => [makeInternalKey(bytes(k), s, kind), bytes(v ?? '')]));
  input.seekToFirst();
  const it = new CompactionIterator(input, {
    snapshots: [], bottommost: false, outputLevel: 1,
    rangeTombstones: new FragmentedRangeTombstones(options.tombstones ?? []),
    ...options,
  });
  const out: string[] = [];
  for (let e = it.next(); e; e = it.next()) {
    const v = text(e.value);
    out.push(`${text(userKeyOf(e.key))}@${sequenceOf(e.key)}:${KIND[kindOf(e.key)]}${v ? `=${v}` : ''}`);
  }
  return out;
}

describe('CompactionIterator', () => {
  it('keeps only the newest version of a key when no snapshot needs older ones', () => {
    expect(run([['a', 3, ValueKind.Value, 'new'], ['a', 2, ValueKind.Value, 'old'], ['a', 1, ValueKind.Deletion], ['b', 1, ValueKind.Value, 'b']]))
      .toEqual(['a@3:put=new', 'b@1:put=b']);
  });

  it('keeps the newest version of each snapshot stripe', () => {
    const entries: E[] = [['a', 9, ValueKind.Value, 'v9'], ['a', 6, ValueKind.Value, 'v6'], ['a', 5, ValueKind.Value, 'v5'], ['a', 2, ValueKind.Value, 'v2']];
    expect(run(entries, { snapshots: [5] })).toEqual(['a@9:put=v9', 'a@5:put=v5']);
    expect(run(entries, { snapshots: [2, 7] })).toEqual(['a@9:put=v9', 'a@6:put=v6', 'a@2:put=v2']);
  });

  it('drops deletions only at the bottommost level and only in the oldest stripe', () => {
    const entries: E[] = [['a', 5, ValueKind.Deletion], ['a', 3, ValueKind.Value, 'x']];
    expect(run(entries)).toEqual(['a@5:del']);
    expect(run(entries, { bottommost: true })).toEqual([]);
    // the value is in the oldest stripe at the bottom: its sequence becomes 0
    expect(run(entries, { bottommost: true, snapshots: [4] })).toEqual(['a@5:del', 'a@0:put=x']);
  });

  it('drops points hidden by a range tombstone of the same stripe, keeps those a snapshot sees', () => {
    const tombstones = [{ start: bytes('a'), end: bytes('c'), seq: 10 }];
    const entries: E[] = [['a', 5, ValueKind.Value, 'a5'], ['b', 12, ValueKind.Value, 'b12'], ['c', 1, ValueKind.Value, 'c1']];
    expect(run(entries, { tombstones })).toEqual(['b@12:put=b12', 'c@1:put=c1']);
    expect(run(entries, { tombstones, snapshots: [7] })).toEqual(['a@5:put=a5', 'b@12:put=b12', 'c@1:put=c1']);
  });

  it('folds merge operands onto the value below them', () => {
    const mergeOperator = createConcat();
    const entries: E[] = [['k', 4, ValueKind.Merge, 'C'], ['k', 3, ValueKind.Merge, 'B'], ['k', 2, ValueKind.Value, 'A'], ['k', 1, ValueKind.Value, 'zzz']];
    expect(run(entries, { mergeOperator })).toEqual(['k@4:put=ABC']);
  });

  it('fully merges onto nothing at the bottom or after a deletion, partially merges otherwise', () => {
    const mergeOperator = createConcat();
    const ops: E[] = [['k', 3, ValueKind.Merge, 'y'], ['k', 2, ValueKind.Merge, 'x']];
    expect(run(ops, { mergeOperator })).toEqual(['k@3:merge=xy']);
    expect(run(ops, { mergeOperator, bottommost: true })).toEqual(['k@0:put=xy']);
    expect(run([...ops, ['k', 1, ValueKind.Deletion]], { mergeOperator })).toEqual(['k@3:put=xy']);
    // a snapshot between the operands keeps them apart
    expect(run(ops, { mergeOperator, snapshots: [2] })).toEqual(['k@3:merge=y', 'k@2:merge=x']);
  });

  it('rejects merge operands when no merge operator is configured', () => {
    expect(() => run([['k', 1, ValueKind.Merge, 'x']])).toThrow(expect.objectContaining({ code: 'LSM_NOT_SUPPORTED' }));
  });

  it('applies the compaction filter to values no snapshot can see', () => {
    const compactionFilter: CompactionFilter = {
      name: 'test',
      filter: (_level, key, value) => (text(key) === 'drop' ? 'remove' : text(key) === 'up' ? bytes(text(value)!.toUpperCase()) : 'keep'),
    };
    const entries: E[] = [['drop', 5, ValueKind.Value, 'x'], ['keep', 5, ValueKind.Value, 'k'], ['up', 5, ValueKind.Value, 'abc'], ['up', 1, ValueKind.Value, 'old']];
    expect(run(entries, { compactionFilter })).toEqual(['drop@5:del', 'keep@5:put=k', 'up@5:put=ABC']);
    expect(run(entries, { compactionFilter, bottommost: true })).toEqual(['keep@0:put=k', 'up@0:put=ABC']);
    // a value a snapshot can see is not filtered
    expect(run(entries, { compactionFilter, snapshots: [6] })).toEqual(['drop@5:put=x', 'keep@5:put=k', 'up@5:put=abc']);
  });

  it('zeroes sequence numbers at the bottommost level only where no snapshot can tell versions apart', () => {
    const entries: E[] = [['a', 9, ValueKind.Value, 'new'], ['a', 3, ValueKind.Value, 'old'], ['b', 2, ValueKind.Value, 'b']];
    expect(run(entries, { bottommost: true })).toEqual(['a@0:put=new', 'b@0:put=b']);
    expect(run(entries, { bottommost: true, snapshots: [5] })).toEqual(['a@9:put=new', 'a@0:put=old', 'b@0:put=b']);
    expect(run(entries)).toEqual(['a@9:put=new', 'b@2:put=b']);
  });
});
