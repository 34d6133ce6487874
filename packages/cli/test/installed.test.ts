import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeShared } from '@kvsieve/test-utils';
import { describe, expect, it } from 'vitest';
import { main } from '../src/index.js';
import { capture } from './capture.js';
import { tinyModelDir } from './tiny-model.js';

// The CLI with the packages it depends on, resolved as a user's install resolves them: no injected
// importer, so `--method snapkv` loads @kvsieve/methods-snapkv itself.

describe('kvsieve run with the installed method packages', () => {
  const dir = tinyModelDir(7);
  const prompt = 'a long enough prompt for the budget to bite';

  it.each([
    ['snapkv', ['--budget', '12', '--window', '4']],
    ['pyramidkv', ['--budget', '12', '--window', '4']],
    ['h2o', ['--budget', '12', '--window', '4']],
    ['adakv', ['--budget', '12', '--window', '4', '--option', 'method="snapkv"']],
    ['streamingllm', ['--budget', '12', '--option', 'sinks=2']],
    ['chunkkv', ['--budget', '12', '--window', '4', '--option', 'chunkSize=4']],
    ['structkv', ['--budget', '12', '--window', '4', '--option', 'computeBudget=20', '--option', 'pivot=0']],
  ])('--method %s keeps its budget per KV head', async (name, opts) => {
    const io = capture();
    const code = await main(
      ['run', dir, '--prompt', prompt, '--max-tokens', '2', '--json', '--method', name, ...opts],
      io,
    );
    expect(io.stderr).toBe('');
    expect(code).toBe(0);
    const out = JSON.parse(io.stdout);
    const kept = out.layers.map((l: { kept: number[] }) => l.kept);
    const total = kept.flat().reduce((a: number, b: number) => a + b, 0);
    // Every method keeps 12 entries per head on average (PyramidKV shifts them between layers).
    expect(total / kept.flat().length).toBeCloseTo(12, 0);
    expect(out.cache.keptBytes).toBeLessThan(out.cache.fullBytes);
  });

  it('--method structkv propagates only its compute budget past the pivot', async () => {
    const io = capture();
    const code = await main(
      [
        'run',
        dir,
        '--prompt',
        prompt,
        '--max-tokens',
        '2',
        '--json',
        '--method',
        'structkv',
        '--budget',
        '12',
        '--window',
        '4',
        '--option',
        'computeBudget=20',
        '--option',
        'pivot=0',
      ],
      io,
    );
    expect(io.stderr).toBe('');
    expect(code).toBe(0);
    const layers = JSON.parse(io.stdout).layers as { tokens: number; propagated?: number }[];
    expect(layers[0]!.tokens).toBeGreaterThan(40);
    expect(layers[0]!.propagated).toBe(20);
    expect(layers[1]!.tokens).toBe(20);
  });

  it('says in the summary (stderr) what each layer kept, and when nothing was evicted', async () => {
    const short = capture();
    expect(
      await main(
        [
          'run',
          dir,
          '--prompt',
          'short',
          '--max-tokens',
          '1',
          '--method',
          'snapkv',
          '--budget',
          '12',
          '--window',
          '4',
        ],
        short,
      ),
    ).toBe(0);
    expect(short.stderr).toMatch(/kept +5 5 per KV head, layers 0-1 \(prompt 5\)/);
    expect(short.stderr).toMatch(/note +layers 0-1: 5 tokens fit the budget: nothing evicted/);
    const long = capture();
    expect(
      await main(
        [
          'run',
          dir,
          '--prompt',
          prompt,
          '--max-tokens',
          '1',
          '--method',
          'snapkv',
          '--budget',
          '12',
          '--window',
          '4',
        ],
        long,
      ),
    ).toBe(0);
    expect(long.stderr).toMatch(/kept +12 12 per KV head/);
    expect(long.stderr).not.toMatch(/nothing evicted/);
  });

  it('--decode-budget holds the cache at the budget while generating', async () => {
    const args = ['run', dir, '--prompt', prompt, '--max-tokens', '120', '--json', '--method', 'snapkv'];
    const free = capture();
    expect(await main([...args, '--budget', '12', '--window', '4'], free)).toBe(0);
    const bounded = capture();
    expect(await main([...args, '--budget', '12', '--window', '4', '--decode-budget', '16'], bounded)).toBe(
      0,
    );
    const entry = 2 * 8 * 4 + 4; // keys and values of head dim 8, plus the position
    const [a, b] = [JSON.parse(free.stdout), JSON.parse(bounded.stdout)];
    expect(b.decodeBudget).toBe(16);
    expect(b.generatedTokens).toBe(120);
    // 2 layers × 2 KV heads × at most budget + slack (16 + 16) entries.
    expect(b.cache.keptBytes).toBeLessThanOrEqual(2 * 2 * 32 * entry);
    expect(a.cache.keptBytes).toBeGreaterThan(2 * 2 * 120 * entry);
    // Without a method it bounds the full cache the same way.
    const full = capture();
    expect(
      await main(
        ['run', dir, '--prompt', prompt, '--max-tokens', '120', '--json', '--decode-budget', '16'],
        full,
      ),
    ).toBe(0);
    expect(JSON.parse(full.stdout).cache.keptBytes).toBeLessThanOrEqual(2 * 2 * 32 * entry);
    const misuse = capture();
    expect(
      await main(['inspect', dir, '--prompt', prompt, '--method', 'snapkv', '--decode-budget', '16'], misuse),
    ).toBe(2);
    expect(misuse.stderr).toMatch(/--decode-budget bounds the cache during generation: use it with run/);
  });

  it('names the option when a method rejects it', async () => {
    const io = capture();
    const code = await main(
      ['run', dir, '--prompt', prompt, '--method', 'snapkv', '--budget', '12', '--window', '12'],
      io,
    );
    expect(code).toBe(2);
    expect(io.stderr).toMatch(/window/);
  });
});

describeShared('kvsieve conformance on the shared reference vectors', ['golden'], (shared) => {
  it('passes every check and prints the count', async () => {
    const io = capture();
    const code = await main(['conformance', join(shared, 'golden')], io);
    expect(io.stdout).toMatch(/^(?:[4-9]\d|\d{3,}) passed, 0 failed$/m);
    expect(code).toBe(0);
  });
});

describe('kvsieve conformance usage', () => {
  it('fails with status 2 on a missing path', async () => {
    const io = capture();
    expect(await main(['conformance', join(tmpdir(), 'no-such-vectors.json')], io)).toBe(2);
    expect(io.stderr).toMatch(/no-such-vectors/);
  });
});
