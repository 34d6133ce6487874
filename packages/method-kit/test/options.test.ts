import { OptionError } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { checkBudgetForPrompt, readBudget, readChoice, readInt, rejectUnknownOptions } from '../src/index.js';

describe('option helpers', () => {
  it('read budgets in every accepted form and reject the rest', () => {
    expect(readBudget('m', 5)).toBe(5);
    expect(readBudget('m', { tokens: 5 })).toEqual({ tokens: 5 });
    expect(readBudget('m', { ratio: 1 })).toEqual({ ratio: 1 });
    for (const bad of [0, -1, 1.5, '64', null, [64], { tokens: 0 }, { ratio: 0 }, { tokens: 1, extra: 1 }]) {
      expect(() => readBudget('m', bad)).toThrow(OptionError);
    }
  });

  it('name the option, the allowed range and the value', () => {
    expect(() => readInt('m', 'kernel', 4, 5, { min: 1, odd: true })).toThrow(
      'm: option "kernel" must be an odd integer ≥ 1, got 4',
    );
    expect(() => readChoice('m', 'pooling', 'x', 'avgpool', ['avgpool', 'maxpool'])).toThrow(
      'm: option "pooling" must be one of "avgpool", "maxpool", got "x"',
    );
    expect(() => rejectUnknownOptions('m', { a: 1, b: 2, c: 3 }, ['a'])).toThrow(
      'm: unknown options "b", "c"; the options are "a"',
    );
    expect(() => rejectUnknownOptions('m', null as never, ['a'])).toThrow(
      'm: options must be an object, got null',
    );
  });

  it('check a ratio budget against a prompt only when the prompt is compressed', () => {
    expect(checkBudgetForPrompt('m', { ratio: 1 }, 8, 5)).toBe(5);
    expect(checkBudgetForPrompt('m', 6, 8, 5)).toBe(6);
    expect(() => checkBudgetForPrompt('m', { ratio: 0.5 }, 8, 12)).toThrow(
      /gives 6 tokens for a 12-token prompt, not more than the window \(8\)/,
    );
    expect(() => checkBudgetForPrompt('m', 10, 8, 0)).toThrow(
      /prompt length must be a positive integer, got 0/,
    );
  });
});
