import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { observationScorer, scoreAllocateSelect } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';

import { type ModuleImporter, main, parseBudget } from '../src/index.js';
import { capture } from './capture.js';
import { TINY, tinyModelDir } from './tiny-model.js';

/** Stands in for an installed @kvsieve/methods-window package: SnapKV-like, built from core's parts. */
const fakeMethods: ModuleImporter = async (specifier) => {
  // The backends are the real ones (the default, auto, probes Dawn and creates wasm or WebGPU).
  if (specifier === 'webgpu' || specifier.startsWith('@kvsieve/kernels-')) return import(specifier);
  if (specifier !== '@kvsieve/methods-window') {
    throw Object.assign(new Error(`Cannot find package '${specifier}' imported from test`), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
  }
  return {
    createMethod: (o: Record<string, unknown>) =>
      scoreAllocateSelect({
        name: 'window',
        options: o,
        budget: o.budget as number,
        window: (o.window as number) ?? 4,
        scorer: observationScorer(),
      }),
  };
};

describe('kvsieve run', () => {
  const dir = tinyModelDir(4);

  it('streams text and prints a summary on the CPU backend', async () => {
    const io = capture();
    const code = await main(
      ['run', dir, '--prompt', 'hello world', '--max-tokens', '5', '--backend', 'cpu'],
      io,
    );
    expect(io.stderr).toMatch(/prefill\s+[\d.]+ s, [\d.]+ tokens\/s/);
    expect(io.stderr).toMatch(/decode\s+\d+ tokens/);
    expect(io.stderr).toMatch(/cache\s+.* kept of .* full \(100\.0%\)/);
    expect(code).toBe(0);
  });

  it('--json gives the same tokens as a prompt file, and a method shrinks the cache', async () => {
    const file = join(dir, 'prompt.txt');
    writeFileSync(file, 'the quick brown fox jumps over the lazy dog');
    const a = capture();
    expect(await main(['run', dir, '--prompt-file', file, '--max-tokens', '4', '--json'], a)).toBe(0);
    const full = JSON.parse(a.stdout);
    const b = capture();
    expect(
      await main(
        [
          'run',
          dir,
          '--prompt',
          'the quick brown fox jumps over the lazy dog',
          '--max-tokens',
          '4',
          '--json',
        ],
        b,
      ),
    ).toBe(0);
    expect(JSON.parse(b.stdout).tokens).toEqual(full.tokens);
    const c = capture();
    const code = await main(
      [
        'run',
        dir,
        '--prompt-file',
        file,
        '--max-tokens',
        '4',
        '--json',
        '--method',
        'window',
        '--budget',
        '12',
        '--window',
        '4',
      ],
      c,
      fakeMethods,
    );
    expect(code, c.stderr).toBe(0);
    const compressed = JSON.parse(c.stdout);
    expect(compressed.methodOptions).toEqual({ budget: 12, window: 4 });
    expect(compressed.layers.map((l: { kept: number[] }) => l.kept)).toEqual([
      [12, 12],
      [12, 12],
    ]);
    expect(compressed.cache.keptBytes).toBeLessThan(full.cache.keptBytes);
  });
});

describe('kvsieve run --chat', () => {
  it('renders the model’s chat template around the prompt, or kvsieve’s fallback with a note', async () => {
    const dir = tinyModelDir(4);
    const bare = capture();
    expect(await main(['run', dir, '--chat', '--prompt', 'hi', '--max-tokens', '2', '--json'], bare)).toBe(0);
    expect(bare.stderr).toMatch(
      /^kvsieve: note: this model ships no chat template; used kvsieve's ChatML fallback/,
    );
    // ChatML around the prompt: the byte-level tokenizer makes one token per byte.
    const chatml = '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n';
    expect(JSON.parse(bare.stdout).promptTokens).toBe(chatml.length);
    const template =
      '{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}';
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: template }));
    const io = capture();
    expect(await main(['run', dir, '--chat', '--prompt', 'hi', '--max-tokens', '2', '--json'], io)).toBe(0);
    expect(JSON.parse(io.stdout).promptTokens).toBe('<user>hi<assistant>'.length);
    // --chat-template FILE overrides the model's; a template that cannot render is one typed line.
    writeFileSync(join(dir, 'mine.jinja'), '[{{ messages[0].content }}]');
    const own = capture();
    expect(
      await main(
        [
          'run',
          dir,
          '--chat-template',
          join(dir, 'mine.jinja'),
          '--prompt',
          'hi',
          '--max-tokens',
          '1',
          '--json',
        ],
        own,
      ),
    ).toBe(0);
    expect(JSON.parse(own.stdout).promptTokens).toBe('[hi]'.length);
    writeFileSync(join(dir, 'bad.jinja'), '{% for m in messages %}');
    const bad = capture();
    expect(await main(['run', dir, '--chat-template', join(dir, 'bad.jinja'), '--prompt', 'hi'], bad)).toBe(
      2,
    );
    expect(bad.stderr).toMatch(/^kvsieve: ChatTemplateError: /);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('kvsieve inspect', () => {
  it('lists what each layer and head kept', async () => {
    const dir = tinyModelDir(4);
    const io = capture();
    const prompt = 'abcdefghijklmnopqrstuvwxyz';
    const code = await main(
      ['inspect', dir, '--prompt', prompt, '--method', 'window', '--budget', '0.5', '--window', '3'],
      io,
      fakeMethods,
    );
    expect(code).toBe(0);
    const lines = io.stdout.split('\n').filter((l) => /^\d+\s+\d+\s+13\/26/.test(l));
    expect(lines).toHaveLength(TINY.layers * TINY.kvHeads);
    // The 3-token window (positions 23-25) is always kept: the last range ends at 25 and starts ≤ 23.
    for (const l of lines) expect(Number(/(\d+)-25$/.exec(l)?.[1])).toBeLessThanOrEqual(23);
    expect(io.stdout).toMatch(/cache: .* kept of .* full \(50\.0%\), prompt 26 tokens/);
  });
});

describe('bad command lines', () => {
  const cases: [string[], RegExp][] = [
    [['fly'], /unknown command "fly"/],
    [['run', 'x'], /give exactly one of --prompt TEXT or --prompt-file FILE/],
    [['run', 'x', '--prompt', 'a', '--prompt-file', 'b'], /exactly one of/],
    [['run', '--prompt', 'a'], /one model path/],
    [['run', 'x', '--prompt', ''], /the prompt is empty/],
    [
      ['run', 'x', '--prompt', 'a', '--backend', 'cuda'],
      /--backend must be auto, wasm, webgpu, cpu, got "cuda"/,
    ],
    [['run', 'x', '--prompt', 'a', '--budget', '5'], /add --method NAME/],
    [
      ['run', 'x', '--prompt', 'a', '--max-tokens=-3'],
      /--max-tokens must be a positive whole number, got "-3"/,
    ],
    [['run', 'x', '--prompt', 'a', '--frobnicate'], /Unknown option '--frobnicate'/],
    [
      ['run', 'x', '--prompt-file', '/nonexistent/p.txt'],
      /--prompt-file \/nonexistent\/p\.txt: cannot read it/,
    ],
    [['inspect', 'x', '--prompt', 'a'], /inspect shows what a method kept; add --method NAME/],
    [['run', '/nonexistent/model', '--prompt', 'a'], /ModelFileError: \/nonexistent\/model does not exist/],
    [['run', 'x', '--prompt', 'a', '--method', 'Snap KV'], /--method must be a method name/],
    [
      ['run', 'x', '--prompt', 'a', '--method', 'nosuch'],
      /--method nosuch needs the package @kvsieve\/methods-nosuch, which is not installed; install it/,
    ],
  ];
  it.each(cases)('%j', async (argv, pattern) => {
    const io = capture();
    expect(await main(argv, io, fakeMethods)).toBe(2);
    expect(io.stderr).toMatch(pattern);
  });

  it('budgets as tokens, ratios and percentages', () => {
    expect(parseBudget('256')).toBe(256);
    expect(parseBudget('0.25')).toEqual({ ratio: 0.25 });
    expect(parseBudget('25%')).toEqual({ ratio: 0.25 });
    expect(() => parseBudget('1.5')).toThrow(/ratio must be in \(0, 1\]/);
    expect(() => parseBudget('abc')).toThrow(/--budget must be/);
  });

  it('prints usage', async () => {
    const io = capture();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.stdout).toMatch(/kvsieve run <model>/);
  });
});
