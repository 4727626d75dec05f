/**
 * Generates the committed LevelDB fixtures under test/compat/fixtures/ (run once; commit the
 * output). Node 20 cannot run TypeScript, so compile it on its own and run it from the repo root:
 *
 *   npx tsc --outDir dist/fixture-tools --module nodenext --moduleResolution nodenext \
 *     --target es2022 --strict --noUncheckedIndexedAccess --skipLibCheck --types node \
 *     test/compat/make-fixtures.ts && node dist/fixture-tools/make-fixtures.js
 *
 * leveldb-1.20-small/: written by LevelDB 1.20 (classic-level) with snappy on and a 64 KiB write
 * buffer: tables in three levels (a compacted one at the bottom) and a tail only in the .log;
 * text and binary keys, empty values, overwrites, deletes, a 1500-byte key, 16 KB values.
 * expected.json lists the live keys with their values (hex; values over 256 bytes as length and
 * SHA-256) and the deleted keys. LevelDB's LOG and LOCK files are left out.
 *
 * leveldb-1.20-corrupt-table/: the same files with one byte flipped inside a data block of a
 * table; corruption.json says which file, block and byte.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { dataBlocks } from './table-layout.js';
import { Generator, Model, type Op, Rand, compareBytes, hex } from './workload.js';

const LARGE_VALUE_CUTOFF = 256;

export type ValueSpec = string | { length: number; sha256: string };

export interface ExpectedFixture {
  generatedBy: string;
  writer: string;
  /** Live entries in key order: [key hex, value hex or {length, sha256}]. */
  live: [string, ValueSpec][];
  /** Keys that were written and then deleted (hex), in key order. */
  deleted: string[];
}

export function valueSpec(value: Uint8Array): ValueSpec {
  if (value.length <= LARGE_VALUE_CUTOFF) return hex(value);
  return { length: value.length, sha256: createHash('sha256').update(value).digest('hex') };
}

async function write(db: ClassicLevel<Buffer, Buffer>, ops: Op[]): Promise<void> {
  const b = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  for (let i = 0; i < ops.length; i += 25) {
    await db.batch(ops.slice(i, i + 25).map((op) => (op.type === 'put'
      ? { type: 'put' as const, key: b(op.key), value: b(op.value) }
      : { type: 'del' as const, key: b(op.key) })));
  }
}

function levels(db: ClassicLevel<Buffer, Buffer>): number[] {
  return [0, 1, 2, 3, 4, 5, 6].map((l) => Number(db.getProperty(`leveldb.num-files-at-level${l}`)));
}

async function main(): Promise<void> {
  if (!existsSync(join(process.cwd(), 'test/compat/make-fixtures.ts'))) throw new Error('run from the repository root');
  const fixtures = join(process.cwd(), 'test/compat/fixtures');
  const small = join(fixtures, 'leveldb-1.20-small');
  const corrupt = join(fixtures, 'leveldb-1.20-corrupt-table');
  const work = mkdtempSync(join(tmpdir(), 'lsm-make-fixtures-'));
  try {
    const model = new Model();
    const profile = { pNew: 0.6, pDelete: 0.2, pLarge: 0, largeSize: 0, smallMax: 32 };
    const gen = new Generator(new Rand(20), model, profile);
    const db = new ClassicLevel<Buffer, Buffer>(work, {
      keyEncoding: 'buffer', valueEncoding: 'buffer', writeBufferSize: 64 * 1024, compression: true,
    });
    await db.open();
    const high = Buffer.alloc(64, 0xff);

    // A: compacted into a table at level >= 1.
    const a = [...gen.specialOps(), ...gen.ops(500)];
    for (let i = 0; i < 3; i++) a.push(gen.opFor(model.keys[10 + i]!, 'put', gen.compressibleValue(16 * 1024)));
    await write(db, a);
    await db.compactRange(Buffer.alloc(0), high);
    // B: overwrites, deletes and new keys in two memtable flushes (compactRange over a range
    // holding no table only flushes the memtable and waits for it). LevelDB places a flush that
    // overlaps nothing in level 0 up to level 2, so the first lands above the compacted table and
    // the second, overlapping that one, in level 0.
    for (let round = 0; round < 2; round++) {
      const b = gen.ops(150);
      for (let i = 0; i < 2; i++) b.push(gen.opFor(gen.newKey(), 'put', gen.compressibleValue(16 * 1024)));
      if (round === 0) b.push(gen.opFor(new Uint8Array(0), 'put', new Uint8Array(0))); // empty key, empty value
      await write(db, b);
      await db.compactRange(high, high);
    }
    // C: a tail only in the .log.
    const c = [...model.keys.slice(20, 50).map((k, i) => gen.opFor(k, i % 3 === 0 ? 'del' : 'put')), ...gen.ops(60)];
    const before = levels(db);
    await write(db, c);
    if (levels(db).join() !== before.join()) throw new Error('the tail was flushed');
    if (before[0] === 0 || before.slice(1).every((n) => n === 0)) throw new Error(`unexpected level layout ${before.join(',')}`);
    await db.close();
    console.log(`files per level: ${before.join(',')}`);

    // The small fixture: every file LevelDB needs, without its info LOG and LOCK.
    rmSync(small, { recursive: true, force: true });
    mkdirSync(small, { recursive: true });
    for (const name of readdirSync(work)) {
      if (name === 'CURRENT' || name.startsWith('MANIFEST-') || /^\d+\.(ldb|log)$/.test(name)) cpSync(join(work, name), join(small, name));
    }
    const expected: ExpectedFixture = {
      generatedBy: 'test/compat/make-fixtures.ts',
      writer: 'classic-level 3.0.0 (LevelDB 1.20), compression snappy, writeBufferSize 64 KiB',
      live: model.sorted().map(([k, v]) => [hex(k), valueSpec(v)]),
      deleted: model.deletedKeys().sort(compareBytes).map(hex),
    };
    writeFileSync(join(small, 'expected.json'), `${JSON.stringify(expected, null, 0).replace(/\],\[/g, '],\n[')}\n`);

    // The corrupt copy: flip one byte in the middle of a data block of the compacted table.
    rmSync(corrupt, { recursive: true, force: true });
    cpSync(small, corrupt, { recursive: true });
    rmSync(join(corrupt, 'expected.json'));
    const tables = readdirSync(corrupt).filter((n) => n.endsWith('.ldb')).sort();
    const table = tables[0]!; // the oldest: the compacted one (level >= 1)
    const bytes = readFileSync(join(corrupt, table));
    const blocks = dataBlocks(bytes);
    const block = blocks[Math.floor(blocks.length / 2)]!;
    const offset = block.offset + Math.floor(block.size / 2);
    const was = bytes[offset]!;
    bytes[offset] = was ^ 0xff;
    writeFileSync(join(corrupt, table), bytes);
    writeFileSync(join(corrupt, 'corruption.json'), `${JSON.stringify({
      note: 'copy of leveldb-1.20-small (expected.json there) with one byte flipped inside a data block',
      file: table,
      dataBlock: { index: blocks.indexOf(block), of: blocks.length, offset: block.offset, size: block.size, compression: block.type },
      flippedByte: { offset, was, now: bytes[offset] },
    }, null, 2)}\n`);
    console.log(`corrupted ${table} at ${offset} (block ${blocks.indexOf(block)} of ${blocks.length})`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
