import { definition as snapkv } from '@kvsieve/methods-snapkv';
import { definition as structkv } from '@kvsieve/methods-structkv';
import { describe, expect, it } from 'vitest';
import { formField, optionsFromTexts, parseBudget, parseField } from '../src/lib/forms.js';
import { DEFINITIONS, describeMethods } from '../src/worker/methods.js';

const fieldsOf = (name: string) => describeMethods().find((m) => m.name === name)!.fields;

describe('option forms from method schemas', () => {
  it('lists every published method with a field per declared option', () => {
    const methods = describeMethods();
    expect(methods.map((m) => m.name)).toEqual([
      'snapkv',
      'pyramidkv',
      'h2o',
      'streamingllm',
      'adakv',
      'chunkkv',
      'structkv',
      'surfacelogickv',
    ]);
    for (const [i, m] of methods.entries())
      expect(m.fields.map((f) => f.name)).toEqual(DEFINITIONS[i]!.optionNames);
  });

  it('picks inputs by kind: budgets as text, choices as selects, required marked', () => {
    const byName = Object.fromEntries(fieldsOf('snapkv').map((f) => [f.name, formField(f)]));
    expect(byName.budget).toMatchObject({ input: 'text', required: true, placeholder: 'e.g. 25% or 64' });
    expect(byName.pooling).toMatchObject({ input: 'select', choices: ['avgpool', 'maxpool', 'none'] });
    expect(byName.window!.input).toBe('number');
    expect(byName.window!.help).toContain('Allowed: an integer ≥ 1');
  });

  it('parses budgets as people type them', () => {
    expect(parseBudget('25%')).toEqual({ ratio: 0.25 });
    expect(parseBudget('64')).toBe(64);
    expect(parseBudget('0.5')).toEqual({ ratio: 0.5 });
    expect(parseBudget('{"tokens": 8}')).toEqual({ tokens: 8 });
    expect(parseBudget('lots')).toBe('lots');
  });

  it('builds options the method accepts, leaving empty fields to their defaults', () => {
    const options = optionsFromTexts(fieldsOf('snapkv'), {
      budget: '25%',
      window: '8',
      pooling: 'maxpool',
      kernel: '',
    });
    expect(options).toEqual({ budget: { ratio: 0.25 }, window: 8, pooling: 'maxpool' });
    expect(snapkv.createMethod(options).options).toMatchObject({
      budget: { ratio: 0.25 },
      window: 8,
      pooling: 'maxpool',
    });
  });

  it('passes a bad value on as typed so the method names what is wrong', () => {
    const options = optionsFromTexts(fieldsOf('snapkv'), { budget: '25%', kernel: 'four' });
    expect(options.kernel).toBe('four');
    expect(() => snapkv.createMethod(options)).toThrow(/snapkv: option "kernel"/);
  });

  it('reads custom options as JSON or text (StructKV pivot and weights)', () => {
    const fields = fieldsOf('structkv');
    const pivot = fields.find((f) => f.name === 'pivot')!;
    expect(parseField(pivot, 'auto')).toBe('auto');
    expect(parseField(pivot, '2')).toBe(2);
    const options = optionsFromTexts(fields, { weights: '[0.2, 0.3, 0.5]', windowInBudget: 'false' });
    expect(options).toEqual({ weights: [0.2, 0.3, 0.5], windowInBudget: false });
    expect(() => structkv.createMethod(options)).not.toThrow();
  });
});
