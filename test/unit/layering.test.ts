/**
 * Dependencies point down only (docs/architecture.md, "Layers"): a module may import its lower
 * neighbours, never a layer above it. This test fails when an import breaks that rule, as
 * Pebble's forbidden-imports lint does.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ALLOWED: Record<string, string[]> = {
  base: [],
  fs: ['base'],
  record: ['base', 'fs'],
  wal: ['base', 'fs', 'record'],
  memtable: ['base'],
  sstable: ['base', 'fs'],
  manifest: ['base', 'fs', 'record'],
  compaction: ['base', 'fs', 'manifest', 'sstable', 'memtable'],
  db: ['base', 'fs', 'record', 'wal', 'memtable', 'sstable', 'manifest', 'compaction'],
  checkpoint: ['base', 'fs', 'record', 'wal', 'sstable', 'manifest', 'db'],
  // compaction: the merge-operator and compaction-filter interfaces (ListState appends, the TTL filter).
  state: ['base', 'fs', 'wal', 'compaction', 'db', 'checkpoint'],
  cli: ['base', 'fs', 'record', 'wal', 'memtable', 'sstable', 'manifest', 'compaction', 'db', 'checkpoint', 'state'],
};

const SRC = join(import.meta.dirname, '../../src');

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (name.endsWith('.ts')) yield path;
  }
}

describe('module layering', () => {
  it('every import points to the same layer or one it may depend on', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const rel = relative(SRC, file);
      const layer = rel.split('/')[0]!;
      if (!rel.includes('/')) continue; // src/index.ts re-exports the public API of every layer
      const allowed = ALLOWED[layer];
      if (allowed === undefined) {
        violations.push(`${rel}: folder ${layer} is not a known layer`);
        continue;
      }
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/from '\.\.\/([a-z-]+)\//g)) {
        const target = m[1]!;
        if (target !== layer && !allowed.includes(target)) violations.push(`${rel} imports ${target}/`);
      }
    }
    expect(violations).toEqual([]);
  });
});
