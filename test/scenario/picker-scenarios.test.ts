/**
 * Data-driven picker tests: each test/scenario/*.txt holds scenarios (an LSM shape, options,
 * files being compacted, compact pointers) and the plan the picker must print for each; the
 * format is documented at the top of every file. `UPDATE=1 npx vitest run test/scenario`
 * rewrites the expected blocks in place from what the pickers print now (review the diff).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeInternalKey, userKeyOf, ValueKind } from '../../src/base/internal-key.js';
import { type CompactionOptions, resolveCompactionOptions } from '../../src/compaction/compaction-options.js';
import type { CompactionPlan, PickerInput } from '../../src/compaction/compaction-plan.js';
import { pickLeveledCompaction, pickManualCompaction } from '../../src/compaction/leveled-picker.js';
import { pickUniversalCompaction, pickUniversalManualCompaction } from '../../src/compaction/universal-picker.js';
import { NUM_LEVELS } from '../../src/manifest/version.js';
import type { FileMetaData } from '../../src/manifest/version-edit.js';

const DIR = import.meta.dirname;
const UPDATE = process.env.UPDATE === '1';
const enc = new TextEncoder();
const dec = new TextDecoder();

const SIZE_UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

interface Scenario {
  name: string;
  line: number;
  options: Partial<CompactionOptions>;
  files: FileMetaData[][];
  beingCompacted: Set<number>;
  pointers: Map<number, Uint8Array>;
  manual?: { level: number; begin?: Uint8Array; end?: Uint8Array };
  expected: string;
  /** Line indexes (0-based) of the expect block's body: [start, end). */
  expectStart: number;
  expectEnd: number;
}

function parseSize(text: string, where: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(text);
  if (m === null) throw new Error(`${where}: bad size ${text}`);
  const n = Number(m[1]) * (m[2] === '' ? 1 : SIZE_UNITS[m[2]!]!);
  if (!Number.isSafeInteger(n)) throw new Error(`${where}: size ${text} is not a whole number of bytes`);
  return n;
}

function formatSize(n: number): string {
  if (n === Number.MAX_SAFE_INTEGER) return 'unlimited';
  for (const unit of ['T', 'G', 'M', 'K']) {
    const u = SIZE_UNITS[unit]!;
    if (n >= u && n % u === 0) return `${n / u}${unit}`;
  }
  return String(n);
}

function parseOptions(words: string[], into: Partial<CompactionOptions>, where: string): void {
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new Error(`${where}: expected name=value, got ${w}`);
    const name = w.slice(0, eq) as keyof CompactionOptions;
    const raw = w.slice(eq + 1);
    let value: unknown;
    if (raw === 'true' || raw === 'false') value = raw === 'true';
    else if (raw === 'unlimited') value = Number.MAX_SAFE_INTEGER;
    else if (/^\d/.test(raw)) value = /^\d+\.\d+$/.test(raw) ? Number(raw) : parseSize(raw, where);
    else value = raw;
    (into as Record<string, unknown>)[name] = value;
  }
}

function parseLevel(word: string, where: string): number {
  const m = /^L(\d)$/.exec(word);
  if (m === null || Number(m[1]) >= NUM_LEVELS) throw new Error(`${where}: bad level ${word}`);
  return Number(m[1]);
}

/** A compact pointer after user key `key`: seq 0 and kind 0 sort last among `key`'s internal keys. */
function pointerKey(key: string): Uint8Array {
  return makeInternalKey(enc.encode(key), 0, ValueKind.Deletion);
}

function parseFile(word: string, where: string): FileMetaData {
  const m = /^(\d+):([^:]+):([^-]+)-(.+)$/.exec(word);
  if (m === null) throw new Error(`${where}: bad file ${word} (number:size:smallest-largest)`);
  const number = Number(m[1]);
  return {
    number,
    size: parseSize(m[2]!, where),
    smallest: makeInternalKey(enc.encode(m[3]!), number, ValueKind.Value),
    largest: makeInternalKey(enc.encode(m[4]!), number, ValueKind.Value),
  };
}

function parseScenarios(path: string, lines: string[]): Scenario[] {
  const scenarios: Scenario[] = [];
  const defaults: Partial<CompactionOptions> = {};
  let cur: Scenario | undefined;
  let inExpect = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const where = `${path}:${i + 1}`;
    if (inExpect && cur !== undefined) {
      if (line.trim() === 'end') {
        cur.expectEnd = i;
        cur.expected = lines.slice(cur.expectStart, i).join('\n');
        scenarios.push(cur);
        cur = undefined;
        inExpect = false;
      }
      continue;
    }
    const text = line.replace(/#.*$/, '').trim();
    if (text === '') continue;
    const [head, ...rest] = text.split(/\s+/) as [string, ...string[]];
    if (cur === undefined) {
      if (head === 'defaults') parseOptions(rest, defaults, where);
      else if (head === 'scenario') {
        cur = {
          name: rest.join(' '), line: i + 1, options: { ...defaults },
          files: Array.from({ length: NUM_LEVELS }, () => []), beingCompacted: new Set(), pointers: new Map(),
          expected: '', expectStart: 0, expectEnd: 0,
        };
      } else throw new Error(`${where}: expected 'scenario' or 'defaults', got ${head}`);
      continue;
    }
    if (head === 'options') parseOptions(rest, cur.options, where);
    else if (/^L\d$/.test(head)) cur.files[parseLevel(head, where)]!.push(...rest.map((w) => parseFile(w, where)));
    else if (head === 'compacting') for (const w of rest) cur.beingCompacted.add(Number(w));
    else if (head === 'pointer') cur.pointers.set(parseLevel(rest[0] ?? '', where), pointerKey(rest[1] ?? ''));
    else if (head === 'manual') {
      const key = (w: string | undefined) => (w === undefined || w === '*' ? undefined : enc.encode(w));
      cur.manual = rest.length === 0 ? { level: 0 } : { level: parseLevel(rest[0] ?? '', where), begin: key(rest[1]), end: key(rest[2]) };
    } else if (head === 'expect') {
      inExpect = true;
      cur.expectStart = i + 1;
    } else throw new Error(`${where}: unknown directive ${head}`);
  }
  if (cur !== undefined) throw new Error(`${path}: scenario '${cur.name}' has no 'expect ... end' block`);
  return scenarios;
}

function versionFiles(s: Scenario): FileMetaData[][] {
  return s.files.map((files, level) =>
    level === 0
      ? [...files].sort((a, b) => b.number - a.number)
      : [...files].sort((a, b) => Buffer.compare(userKeyOf(a.smallest), userKeyOf(b.smallest))),
  );
}

function printPlan(plan: CompactionPlan | undefined): string {
  if (plan === undefined) return 'none';
  const out: string[] = [];
  out.push(`reason ${plan.reason} score ${plan.score.toFixed(2)}`);
  for (const i of plan.inputs) out.push(`input L${i.level} ${i.files.map((f) => f.number).join(' ')}`);
  out.push(`output L${plan.outputLevel}${plan.trivialMove ? ' trivialMove' : ''}${plan.bottommost ? ' bottommost' : ''}`);
  out.push(`grandparents ${plan.grandparents.length === 0 ? '-' : plan.grandparents.map((f) => f.number).join(' ')}`);
  out.push(`maxOutputFileBytes ${formatSize(plan.maxOutputFileBytes)} maxGrandparentOverlapBytes ${formatSize(plan.maxGrandparentOverlapBytes)}`);
  if (plan.compactPointer !== undefined) {
    out.push(`compactPointer L${plan.compactPointer.level} ${dec.decode(userKeyOf(plan.compactPointer.key))}`);
  }
  return out.join('\n');
}

function run(s: Scenario): { printed: string; plan: CompactionPlan | undefined; input: PickerInput } {
  const options = resolveCompactionOptions(s.options);
  const input: PickerInput = { files: versionFiles(s), beingCompacted: s.beingCompacted, compactPointers: s.pointers };
  let plan: CompactionPlan | undefined;
  if (s.manual !== undefined && options.compactionStyle === 'universal') plan = pickUniversalManualCompaction(input, options);
  else if (s.manual !== undefined) plan = pickManualCompaction(input, options, s.manual.level, s.manual.begin, s.manual.end);
  else if (options.compactionStyle === 'universal') plan = pickUniversalCompaction(input, options);
  else plan = pickLeveledCompaction(input, options);
  return { printed: printPlan(plan), plan, input };
}

/** Properties every plan has, whatever the scenario expects. */
function checkPlanInvariants(plan: CompactionPlan, input: PickerInput): void {
  for (const { level, files } of plan.inputs) {
    for (const f of files) {
      expect(input.beingCompacted.has(f.number), `input ${f.number} is being compacted`).toBe(false);
      expect(input.files[level]!.includes(f), `input ${f.number} is not in L${level}`).toBe(true);
    }
  }
  expect(plan.inputs.length).toBeGreaterThan(0);
  if (plan.trivialMove) {
    expect(plan.inputs).toHaveLength(1);
    expect(plan.inputs[0]!.files).toHaveLength(1);
  }
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort();

describe('picker scenarios', () => {
  it('has scenario files', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  for (const file of files) {
    const path = join(DIR, file);
    let lines = readFileSync(path, 'utf8').split('\n');
    let scenarios = parseScenarios(file, lines);
    if (UPDATE) {
      for (const s of [...scenarios].reverse()) {
        lines.splice(s.expectStart, s.expectEnd - s.expectStart, ...run(s).printed.split('\n'));
      }
      writeFileSync(path, lines.join('\n'));
      lines = readFileSync(path, 'utf8').split('\n');
      scenarios = parseScenarios(file, lines);
    }
    describe(file, () => {
      it('scenario names are unique', () => {
        const names = scenarios.map((s) => s.name);
        expect(new Set(names).size).toBe(names.length);
      });
      for (const s of scenarios) {
        it(`${s.name} (line ${s.line})`, () => {
          const { printed, plan, input } = run(s);
          if (plan !== undefined) checkPlanInvariants(plan, input);
          expect(printed).toBe(s.expected);
        });
      }
    });
  }
});
