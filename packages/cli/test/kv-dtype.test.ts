import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/index.js';
import { capture } from './capture.js';
import { TINY, tinyModelDir } from './tiny-model.js';

// Every published method on an f16 KV cache (`--kv-dtype f16`), through the command users run:
// prefill compression, compaction and the method's decode rules work on 16-bit rows, the summary
// names the dtype, and bytes are reported as stored: per kept entry, a key and a value of headDim
// elements in the cache's dtype and the entry's i32 position.

const METHODS = [
  'snapkv',
  'pyramidkv',
  'h2o',
  'streamingllm',
  'adakv',
  'chunkkv',
  'structkv',
  'surfacelogickv',
];
const PROMPT =
  'the quick brown fox jumps over the lazy dog, and then the dog sleeps under the old tree by the river';

describe('kvsieve run --kv-dtype f16 with every method', () => {
  const dir = tinyModelDir(9);
  let profile = '';
  beforeAll(async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'kvsieve-kv-dtype-'));
    const io = capture({ cwd });
    const args = [
      'calibrate',
      dir,
      '--probes',
      '2',
      '--lengths',
      '96',
      '--depths',
      '0.5',
      '--answer',
      'teacher',
    ];
    expect(await main(args, io)).toBe(0);
    profile = join(cwd, `${basename(dir)}.slkv-profile.json`);
  });

  interface Summary {
    weights: { bytes: number; byDtype: Record<string, number> };
    cache: { dtype: string; keptBytes: number; fullBytes: number };
    layers: { kept: number[] }[];
    generatedTokens: number;
  }

  async function run(method: string, kvDtype: string): Promise<Summary> {
    const io = capture();
    const args = ['run', dir, '--prompt', PROMPT, '--max-tokens', '6', '--json', '--kv-dtype', kvDtype];
    // StreamingLLM has no observation window (its options are budget and sinks).
    args.push('--method', method, '--budget', '50%', ...(method === 'streamingllm' ? [] : ['--window', '4']));
    if (method === 'surfacelogickv') args.push('--option', `profile=${profile}`);
    const code = await main(args, io);
    expect(io.stderr).toBe('');
    expect(code).toBe(0);
    return JSON.parse(io.stdout) as Summary;
  }

  it.each(METHODS)('%s: the same entries kept per layer as with f32, each stored in f16', async (method) => {
    const f32 = await run(method, 'f32');
    const f16 = await run(method, 'f16');
    // The summary also names the resident weights (this model: all f32).
    expect(f32.weights.bytes).toBeGreaterThan(0);
    expect(f32.weights.byDtype).toEqual({ f32: f32.weights.bytes });
    expect(f32.cache.dtype).toBe('f32');
    expect(f16.cache.dtype).toBe('f16');
    expect(f16.generatedTokens).toBe(6);
    const total = (s: Summary) => s.layers.map((l) => l.kept.reduce((a, b) => a + b, 0));
    expect(total(f16)).toEqual(total(f32));
    // Entries at the end: the prefill's kept ones and the decoded tokens', the same in both runs.
    const f32Entry = 2 * TINY.headDim * 4 + 4;
    const f16Entry = 2 * TINY.headDim * 2 + 4;
    const entries = f32.cache.keptBytes / f32Entry;
    expect(Number.isInteger(entries)).toBe(true);
    expect(entries).toBeGreaterThanOrEqual(total(f32).reduce((a, b) => a + b, 0));
    expect(f16.cache.keptBytes).toBe(entries * f16Entry);
    expect(f16.cache.fullBytes / f16Entry).toBe(f32.cache.fullBytes / f32Entry);
    expect(f16.cache.keptBytes).toBeLessThan(f16.cache.fullBytes);
  });
});
