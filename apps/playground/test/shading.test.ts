import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  firstDifference,
  formatBytes,
  keptCounts,
  keptFraction,
  keptSet,
  layerHeatmap,
  scoreShading,
  shade,
} from '../src/lib/shading.js';
import { sha256 } from '../src/shims/node-crypto.js';

// 2 layers × 2 KV heads over a 5-token prompt.
const kept = [
  [Int32Array.from([0, 1, 4]), Int32Array.from([0, 4])],
  [Int32Array.from([0, 2, 3, 4]), Int32Array.from([4])],
];

describe('what was kept, as numbers', () => {
  it('shades each position by the fraction of (layer, KV head) pairs keeping it', () => {
    expect(Array.from(keptFraction(kept, 5))).toEqual([0.75, 0.25, 0.25, 0.25, 1]);
    expect(Array.from(keptFraction([], 3))).toEqual([0, 0, 0]);
  });

  it('gives a layer × position heatmap and kept counts', () => {
    expect(layerHeatmap(kept, 5).map((r) => Array.from(r))).toEqual([
      [1, 0.5, 0, 0, 1],
      [0.5, 0, 0.5, 0.5, 1],
    ]);
    expect(keptCounts(kept)).toEqual({
      perLayer: [5, 5],
      perHead: [
        [3, 2],
        [4, 1],
      ],
    });
    expect([...keptSet(kept, 1, 0)].sort()).toEqual([0, 2, 3, 4]);
    expect([...keptSet(kept, 0, null)].sort()).toEqual([0, 1, 4]);
  });

  it('maps fractions to 17 colour steps, white to dark', () => {
    expect(shade(0)).toBe('hsl(215 80% 98%)');
    expect(shade(1)).toBe('hsl(215 80% 45%)');
    expect(shade(0.5)).toBe(shade(0.51));
    expect(shade(Number.NaN)).toBe(shade(0));
  });

  it('finds where two outputs part', () => {
    expect(firstDifference([1, 2, 3], [1, 2, 3])).toBe(-1);
    expect(firstDifference([1, 2, 3], [1, 5, 3])).toBe(1);
    expect(firstDifference([1, 2], [1, 2, 3])).toBe(2);
    expect(formatBytes(516 * 1024)).toBe('516.0 KiB');
  });

  it("the bundle's SHA-256 equals Node's (needle prompts match kvsieve eval's)", () => {
    for (const text of ['', 'abc', JSON.stringify([1, 'niah_single', 512, 50, 0]), 'x'.repeat(1000)]) {
      const want = createHash('sha256').update(text).digest();
      expect(Buffer.from(sha256(new TextEncoder().encode(text)))).toEqual(want);
    }
  });
});

describe('observation-window score shading', () => {
  it('scales each head to its largest score, averages heads, leaves unscored positions NaN', () => {
    const a = Float32Array.from([2, 1, 0, Number.NaN]);
    const b = Float32Array.from([1, 4, 2, Number.NaN]);
    const got = Array.from(scoreShading([a, b], 4));
    expect(got.slice(0, 3)).toEqual([0.625, 0.75, 0.25]);
    expect(Number.isNaN(got[3]!)).toBe(true);
    expect(Array.from(scoreShading([Float32Array.from([0, 0])], 2)).every(Number.isNaN)).toBe(true);
  });
});
