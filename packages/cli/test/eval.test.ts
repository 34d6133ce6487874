import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/index.js';
import { capture } from './capture.js';
import { tinyModelDir } from './tiny-model.js';

/** A tiny random Llama folder (2 layers, 2 KV heads, 1024 positions) with a byte-level tokenizer. */

describe('kvsieve eval', () => {
  const model = tinyModelDir(9, { maxPositions: 1024 });
  const args = (out: string) => [
    'eval',
    model,
    '--tasks',
    'niah_single,niah_multikey',
    '--methods',
    'full,snapkv,streamingllm',
    '--budgets',
    '50%,64',
    '--lengths',
    '300,400',
    '--depths',
    '0,50,100',
    '--samples',
    '1',
    '--template',
    'kvsieve-recall',
    '--max-new-tokens',
    '4',
    '--out',
    out,
  ];

  it('writes results, summary and plots from one command, and resumes', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kvsieve-cli-eval-out-'));
    const io = capture();
    expect(await main(args(out), io), io.stderr).toBe(0);
    // 2 tasks × 2 lengths × 3 depths, each with full + 2 methods × 2 budgets.
    expect(readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n')).toHaveLength(60);
    expect(io.stdout).toMatch(/\| method \| budget \| niah_single \| niah_multikey \| mean \|/);
    expect(io.stdout).toMatch(/\| streamingllm \| 64 tokens \|/);
    expect(io.stdout).toContain('ran 60 of 60 runs');
    const summary = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(summary).toContain(
      `kvsieve eval ${model} --tasks niah_single,niah_multikey --methods full,snapkv,streamingllm --budgets 50%,64`,
    );
    expect(io.stderr).toMatch(/\[#{20}\] 60\/60 100% /);
    const plots = readdirSync(join(out, 'plots'));
    expect(plots).toContain('budget-niah_multikey.svg');
    expect(plots).toContain('niah-niah_single-streamingllm-64-tokens.svg');
    if (existsSync('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'))
      expect(plots).toContain('budget-niah_multikey.png');

    const again = capture();
    expect(await main(args(out), again), again.stderr).toBe(0);
    expect(again.stdout).toContain('ran 0 of 60 runs');
  });

  it('--no-share-prefill gives the same results.jsonl rows (but for seconds)', async () => {
    const small = (out: string) => [
      'eval',
      model,
      '--methods',
      'snapkv,h2o',
      '--budgets',
      '50%',
      '--lengths',
      '300',
      '--depths',
      '50',
      '--samples',
      '1',
      '--template',
      'kvsieve-recall',
      '--max-new-tokens',
      '4',
      '--no-png',
      '--out',
      out,
    ];
    const rows = async (extra: string[]) => {
      const out = mkdtempSync(join(tmpdir(), 'kvsieve-cli-eval-share-'));
      const io = capture();
      expect(await main([...small(out), ...extra], io), io.stderr).toBe(0);
      return readFileSync(join(out, 'results.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const { seconds: _, ...r } = JSON.parse(l) as { seconds: number };
          return r;
        });
    };
    const shared = await rows([]);
    expect(shared).toHaveLength(3);
    expect(await rows(['--no-share-prefill'])).toEqual(shared);
  });

  it('reports bad input with typed errors and exit code 2', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kvsieve-cli-eval-bad-'));
    const cases: [string[], RegExp][] = [
      [
        ['--methods', 'nosuchkv'],
        /MissingPackageError: --method nosuchkv needs the package @kvsieve\/methods-nosuchkv/,
      ],
      [['--tasks', 'niah'], /OptionError: task "niah" is unknown/],
      [['--budgets', '150%'], /OptionError: --budgets: "150%" is not a percentage/],
      [['--lengths', '1000', '--max-new-tokens', '64'], /exceeds the model's context of 1024/],
      [['--template', 'llama'], /template "llama" is unknown/],
      [['--lengths', 'abc'], /--lengths: "abc" is not a whole number/],
      [['--bogus'], /Unknown option '--bogus'.*kvsieve eval --help/],
      [
        ['--methods', 'snapkv', '--option', 'h2o.window=4'],
        /--option h2o\.window: "h2o" is not in --methods \(snapkv\)/,
      ],
      [['--methods', 'streamingllm', '--window', '4'], /streamingllm: unknown option "window"/],
      [['--words', join(out, 'none.txt')], /--words .*none\.txt: cannot read it/],
    ];
    for (const [extra, message] of cases) {
      const io = capture();
      expect(await main(['eval', model, '--out', out, ...extra], io)).toBe(2);
      expect(io.stderr).toMatch(message);
    }
    // Per-method options: the window goes to SnapKV only, so StreamingLLM (which has none) runs.
    const ok = capture();
    const args2 = [
      'eval',
      model,
      '--out',
      out,
      '--methods',
      'snapkv,streamingllm',
      '--option',
      'snapkv.window=4',
    ];
    const common = [
      '--lengths',
      '300',
      '--depths',
      '50',
      '--samples',
      '1',
      '--template',
      'kvsieve-recall',
      '--max-new-tokens',
      '2',
      '--no-png',
    ];
    expect(await main([...args2, ...common], ok), ok.stderr).toBe(0);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.config.methods).toEqual([
      { name: 'snapkv', params: 'window 4' },
      { name: 'streamingllm', params: '' },
    ]);
    // --words: word keys and values from the given list.
    const wordsFile = join(out, 'words.txt');
    writeFileSync(wordsFile, 'lamp\nriver stone cloud\ncandle\nforest\napple tiger\n');
    const w = capture();
    const wordsOut = join(out, 'words');
    expect(await main(['eval', model, '--out', wordsOut, '--words', wordsFile, ...common], w), w.stderr).toBe(
      0,
    );
    const config2 = JSON.parse(readFileSync(join(wordsOut, 'config.json'), 'utf8'));
    expect(config2.config.template.words).toEqual([
      'lamp',
      'river',
      'stone',
      'cloud',
      'candle',
      'forest',
      'apple',
      'tiger',
    ]);
    const help = capture();
    expect(await main(['eval', '--help'], help)).toBe(0);
    expect(help.stdout).toContain('kvsieve eval <model>');
  });
});
