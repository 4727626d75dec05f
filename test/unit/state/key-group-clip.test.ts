import { describe, expect, it } from 'vitest';
import { KeyGroupClip } from '../../../src/state/key-group-clip.js';
import { KeyGroupRange } from '../../../src/state/key-groups.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const k = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('KeyGroupClip', () => {
  const clip = new KeyGroupClip(KeyGroupRange.of(4, 7), 1, 16);

  it('state interval is [s][start] .. [s][end + 1]', () => {
    const i = clip.stateInterval(3);
    expect([hex(i.gte), hex(i.lt)]).toEqual(['000304', '000308']);
    const last = new KeyGroupClip(KeyGroupRange.of(8, 15), 1, 16).stateInterval(3);
    expect([hex(last.gte), hex(last.lt)]).toEqual(['000308', '000400']);
  });

  it('gaps are everything outside the range for states 1..max, registry kept', () => {
    expect(clip.gaps(2).map((g) => `${hex(g.gte)}-${hex(g.lt)}`)).toEqual(['000100-000104', '000108-000204', '000208-000300']);
    expect(new KeyGroupClip(KeyGroupRange.of(0, 15), 1, 16).gaps(2)).toEqual([]);
  });

  it('overlaps: files wholly inside a gap are skipped, everything else kept', () => {
    expect(clip.overlaps(k(0, 0, 0), k(0, 0, 1, 0x61))).toBe(true); // registry
    expect(clip.overlaps(k(0, 1, 0), k(0, 1, 3, 0xff))).toBe(false); // state 1, kg 0..3
    expect(clip.overlaps(k(0, 1, 0), k(0, 1, 4))).toBe(true);
    expect(clip.overlaps(k(0, 1, 8), k(0, 2, 3, 9))).toBe(false); // from state 1 kg 8 to state 2 kg 3: one gap
    expect(clip.overlaps(k(0, 1, 8), k(0, 2, 4))).toBe(true);
    expect(clip.overlaps(k(0, 1, 7, 1), k(0, 2, 0))).toBe(true);
    expect(clip.overlaps(k(0, 1, 9), k(0, 3, 0))).toBe(true); // state 2 wholly inside
    expect(clip.overlaps(k(1), k(0, 9))).toBe(true); // not a state key: never guess
  });
});
