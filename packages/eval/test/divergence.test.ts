import { ShapeError } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { argmax, klDivergence, klFromLogProbs, logSoftmax, softmax } from '../src/index.js';

describe('logSoftmax / softmax', () => {
  it('matches hand-computed values', () => {
    // exp(0) : exp(ln 3) = 1 : 3 → probabilities 1/4 and 3/4.
    const lp = logSoftmax([0, Math.log(3)]);
    expect(lp[0]).toBeCloseTo(Math.log(0.25), 15);
    expect(lp[1]).toBeCloseTo(Math.log(0.75), 15);
    const p = softmax([1, 1, 1, 1]);
    expect([...p]).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('is invariant to adding a constant to every logit', () => {
    const x = [0.3, -1.2, 2.5, 0, 7.25];
    const base = logSoftmax(x);
    for (const c of [-50, 1, 1000, 1e6]) {
      const shifted = logSoftmax(x.map((v) => v + c));
      shifted.forEach((v, i) => expect(v).toBeCloseTo(base[i]!, 9));
      expect(
        klDivergence(
          x,
          x.map((v) => v + c),
        ),
      ).toBeLessThan(1e-12);
    }
  });

  it('does not overflow on large logits', () => {
    const lp = logSoftmax(Float32Array.of(1000, 0));
    expect(Number.isFinite(lp[0]!)).toBe(true);
    expect(lp[0]).toBeCloseTo(0, 15);
    expect(lp[1]).toBeCloseTo(-1000, 12);
  });

  it('gives a masked (-Infinity) token probability 0', () => {
    const p = softmax([0, Number.NEGATIVE_INFINITY, 0]);
    expect([...p]).toEqual([0.5, 0, 0.5]);
  });

  it('rejects empty, NaN, +Infinity and all-masked logits with a ShapeError naming them', () => {
    expect(() => logSoftmax([], 'step 3')).toThrow(ShapeError);
    expect(() => logSoftmax([], 'step 3')).toThrow(/step 3: empty logits/);
    expect(() => logSoftmax([0, Number.NaN])).toThrow(/logit 1 is NaN/);
    expect(() => logSoftmax([Number.POSITIVE_INFINITY, 0])).toThrow(/logit 0 is Infinity/);
    expect(() => logSoftmax([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY])).toThrow(
      /every logit is -Infinity/,
    );
  });
});

describe('klDivergence', () => {
  it('is exactly 0 for identical logits', () => {
    const x = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i * 0.37) * 8);
    expect(klDivergence(x, x)).toBe(0);
    expect(klDivergence(x, Float32Array.from(x))).toBe(0);
  });

  it('matches a two-point distribution computed by hand', () => {
    // p = (1/2, 1/2), q = (1/4, 3/4):
    // KL(p‖q) = ½ ln(½ / ¼) + ½ ln(½ / ¾) = ½ ln(4/3);  KL(q‖p) = ¼ ln(½) + ¾ ln(3/2).
    expect(klDivergence([0, 0], [0, Math.log(3)])).toBeCloseTo(0.5 * Math.log(4 / 3), 14);
    expect(klDivergence([0, Math.log(3)], [0, 0])).toBeCloseTo(
      0.25 * Math.log(0.5) + 0.75 * Math.log(1.5),
      14,
    );
    expect(0.5 * Math.log(4 / 3)).toBeCloseTo(0.1438410362, 9);
  });

  it('skips tokens p rules out and is infinite where q rules out a token p allows', () => {
    const inf = Number.NEGATIVE_INFINITY;
    // p = (1, 0), q = (1/2, 1/2): KL = ln 2.
    expect(klDivergence([0, inf], [0, 0])).toBeCloseTo(Math.LN2, 15);
    expect(klDivergence([0, 0], [0, inf])).toBe(Number.POSITIVE_INFINITY);
  });

  it('rejects vectors of different lengths', () => {
    expect(() => klDivergence([0, 1], [0, 1, 2])).toThrow(ShapeError);
    expect(() => klDivergence([0, 1], [0, 1, 2])).toThrow(/p has 2 logits and q has 3/);
    expect(() => klFromLogProbs(new Float64Array(2), new Float64Array(1))).toThrow(
      /p has 2 entries and q has 1/,
    );
  });
});

describe('argmax', () => {
  it('picks the largest value and the lowest index on ties', () => {
    expect(argmax([0.1, 3, -2, 3])).toBe(1);
    expect(argmax(Float32Array.of(-5))).toBe(0);
    expect(() => argmax([])).toThrow(ShapeError);
  });
});
