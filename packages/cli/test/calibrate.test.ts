import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseProfileJson } from '@kvsieve/methods-surfacelogickv';
import { describe, expect, it } from 'vitest';
import { main } from '../src/index.js';
import { capture } from './capture.js';
import { tinyModelDir } from './tiny-model.js';

describe('kvsieve calibrate', () => {
  const dir = tinyModelDir(5);

  it('writes a profile to the current folder by default (not beside the model), and run --method surfacelogickv reads it', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'kvsieve-calibrate-cwd-'));
    const io = capture({ cwd });
    const code = await main(
      ['calibrate', dir, '--probes', '2', '--lengths', '96', '--depths', '0.5', '--answer', 'teacher'],
      io,
    );
    expect(io.stderr).toBe('');
    expect(code).toBe(0);
    expect(existsSync(`${dir}.slkv-profile.json`)).toBe(false);
    const out = join(cwd, `${basename(dir)}.slkv-profile.json`);
    expect(existsSync(out)).toBe(true);
    const profile = parseProfileJson(readFileSync(out, 'utf8'), out);
    expect(profile.model).toMatchObject({ numLayers: 2, numHeads: 4, numKvHeads: 2 });
    expect(profile.probes).toMatchObject({ count: 2, lengths: [96], depths: [0.5], answer: 'teacher' });
    expect(io.stdout).toContain(`profile written to ${out}`);
    expect(io.stdout).toMatch(/heads by dominant behaviour: \d+ surface, \d+ logic, \d+ ignore \(of 8\)/);

    const run = capture();
    const prompt = 'the quick brown fox jumps over the lazy dog, and then the dog sleeps';
    expect(
      await main(
        [
          'run',
          dir,
          '--prompt',
          prompt,
          '--max-tokens',
          '2',
          '--json',
          '--method',
          'surfacelogickv',
          '--budget',
          '24',
          '--window',
          '4',
          '--option',
          `profile=${out}`,
        ],
        run,
      ),
    ).toBe(0);
    const summary = JSON.parse(run.stdout);
    // 24 tokens per KV head on average over 2 layers × 2 KV heads.
    const kept = (summary.layers as { kept: number[] }[]).flatMap((l) => l.kept);
    expect(kept.reduce((a, b) => a + b, 0)).toBe(24 * 4);
  });

  it('--out, --json and a haystack file', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'kvsieve-cli-calibrate-out-'));
    const hay = join(tmp, 'hay.txt');
    writeFileSync(
      hay,
      'Bees make honey. Rivers run to the sea. Snow is cold! Why is the sky blue? It scatters light.',
    );
    const out = join(tmp, 'p.json');
    const io = capture();
    const code = await main(
      [
        'calibrate',
        dir,
        '--out',
        out,
        '--probes',
        '1',
        '--lengths',
        '80',
        '--haystack',
        hay,
        '--seed',
        '3',
        '--alpha',
        '1',
        '--json',
      ],
      io,
    );
    expect(io.stderr).toBe('');
    expect(code).toBe(0);
    const printed = JSON.parse(io.stdout);
    expect(printed.out).toBe(out);
    expect(printed.probes).toMatchObject({ count: 1, seed: 3, haystack: hay, answer: 'greedy' });
    expect(parseProfileJson(readFileSync(out, 'utf8'), out).alpha).toBe(1);
  });

  it.each([
    [['calibrate'], /calibrate takes one model path/],
    [['calibrate', 'm', '--answer', 'guess'], /--answer must be greedy or teacher, got "guess"/],
    [['calibrate', 'm', '--alpha', '2'], /--alpha must be a number in \[0, 1\], got "2"/],
    [['calibrate', 'm', '--probes', '0'], /--probes must be a whole number ≥ 1, got "0"/],
    [['calibrate', 'm', '--lengths', '64,x'], /--lengths must be numbers separated by commas, got "64,x"/],
    [['calibrate', 'm', '--budget', '3'], /Unknown option '--budget'.*kvsieve calibrate --help/],
    [
      ['calibrate', 'm', '--haystack', '/nonexistent/hay.txt'],
      /--haystack \/nonexistent\/hay.txt: cannot read it/,
    ],
  ])('%j fails with a clear message', async (argv, message) => {
    const io = capture();
    expect(await main(argv, io)).toBe(2);
    expect(io.stderr).toMatch(message);
  });

  it('says where it could not write', async () => {
    const io = capture();
    const out = join(dir, 'no-such-folder', 'p.json');
    expect(await main(['calibrate', dir, '--out', out, '--probes', '1', '--lengths', '64'], io)).toBe(2);
    expect(io.stderr).toMatch(/cannot write the profile to .*no-such-folder\/p\.json .*give --out FILE/);
  });

  it('--help prints its usage', async () => {
    const io = capture();
    expect(await main(['calibrate', '--help'], io)).toBe(0);
    expect(io.stdout).toMatch(/kvsieve calibrate <model> \[--out FILE\]/);
  });
});
