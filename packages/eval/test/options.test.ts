import { OptionError } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { describeParams, parseBudgets } from '../src/index.js';

describe('parseBudgets', () => {
  it('reads percentages, ratios and token counts', () => {
    expect(parseBudgets('25%, 50%')).toEqual([
      { label: '25%', budget: { ratio: 0.25 } },
      { label: '50%', budget: { ratio: 0.5 } },
    ]);
    expect(parseBudgets('0.125,1.0,64')).toEqual([
      { label: '12.5%', budget: { ratio: 0.125 } },
      { label: '100%', budget: { ratio: 1 } },
      { label: '64 tokens', budget: { tokens: 64 } },
    ]);
  });

  it('rejects bad entries with an OptionError naming the entry and the allowed forms', () => {
    for (const bad of ['', '25%,', '0%', '150%', 'abc%', '-3', '0', '1.5', '12.5', 'x']) {
      expect(() => parseBudgets(bad), bad).toThrow(OptionError);
    }
    expect(() => parseBudgets('150%')).toThrow(/--budgets: "150%" is not a percentage in \(0%, 100%\]/);
    expect(() => parseBudgets('1.5', '--b')).toThrow(/--b: "1.5" is a fraction above 1; use a percentage/);
    expect(() => parseBudgets('25%,,50%')).toThrow(/empty entry/);
  });
});

describe('describeParams', () => {
  it('lists the resolved options except the budget', () => {
    expect(describeParams({ budget: { ratio: 0.25 }, window: 32, pooling: 'avgpool' })).toBe(
      'window 32, pooling avgpool',
    );
  });
});
