import { describe, expect, it } from 'vitest';
import {
  DEFAULT_STATE,
  decodeState,
  encodeState,
  MAX_URL_TEXT,
  type PageState,
} from '../src/lib/url-state.js';

const KNOWN = ['snapkv', 'pyramidkv', 'structkv'];

describe('configuration in the URL', () => {
  it('round-trips a needle prompt, two methods with options and the settings', () => {
    const s: PageState = {
      prompt: { kind: 'niah', length: 1024, depth: 25, seed: 7 },
      methods: [
        { name: 'snapkv', options: { budget: '25%', window: '8' } },
        { name: 'structkv', options: { pivot: 'auto', weights: '[0.2,0.3,0.5]' } },
      ],
      full: false,
      maxTokens: 32,
      decodeBudget: 128,
    };
    expect(decodeState(encodeState(s), KNOWN)).toEqual(s);
  });

  it('round-trips a text prompt with characters URLs escape', () => {
    const s: PageState = { ...DEFAULT_STATE, prompt: { kind: 'text', text: 'a & b = 50% #1?\nnext line' } };
    expect(decodeState(encodeState(s), KNOWN)).toEqual(s);
  });

  it('leaves a long prompt out of the link', () => {
    const s: PageState = { ...DEFAULT_STATE, prompt: { kind: 'text', text: 'x'.repeat(MAX_URL_TEXT + 1) } };
    expect(encodeState(s)).not.toContain('prompt=');
  });

  it('falls back to defaults on malformed or unknown values', () => {
    const s = decodeState('niah=abc,200,-1&m1=nosuch&max=0&db=x', KNOWN);
    expect(s.prompt).toEqual({ kind: 'niah', length: 512, depth: 50, seed: 1 });
    expect(s.methods).toEqual(DEFAULT_STATE.methods);
    expect(s.maxTokens).toBe(DEFAULT_STATE.maxTokens);
    expect(s.decodeBudget).toBe(0);
    expect(decodeState('', KNOWN)).toEqual(DEFAULT_STATE);
  });
});
