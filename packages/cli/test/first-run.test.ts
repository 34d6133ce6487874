import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeShared } from '@kvsieve/test-utils';
import { describe, expect, it } from 'vitest';
import { main } from '../src/index.js';
import { capture } from './capture.js';
import { tinyModelDir } from './tiny-model.js';

const dir = tinyModelDir(3, { eos: false });

describe('every command answers --help and -h', () => {
  it.each([
    ['run', /kvsieve run <model>/],
    ['inspect', /kvsieve inspect <model>/],
    ['methods', /kvsieve methods NAME/],
    ['eval', /kvsieve eval <model>/],
    ['calibrate', /kvsieve calibrate <model>/],
    ['conformance', /kvsieve conformance/],
  ])('%s', async (command, usage) => {
    for (const flag of ['--help', '-h']) {
      const io = capture();
      expect(await main([command, flag], io)).toBe(0);
      expect(io.stdout).toMatch(usage);
      expect(io.stderr).toBe('');
    }
    const help = capture();
    expect(await main(['help', command], help)).toBe(0);
    expect(help.stdout).toMatch(usage);
    // After other arguments too, as people type it.
    const late = capture();
    expect(await main([command, dir, '--prompt', 'x', '--help'], late)).toBe(0);
    expect(late.stdout).toMatch(usage);
  });
});

describe('a first run', () => {
  it('a percentage budget on a prompt shorter than the window runs, shrinks the window and says so', async () => {
    const io = capture();
    const code = await main(
      [
        'run',
        dir,
        '--prompt',
        'Once upon a time',
        '--max-tokens',
        '5',
        '--method',
        'snapkv',
        '--budget',
        '50%',
      ],
      io,
    );
    expect(code).toBe(0);
    expect(io.stderr).toMatch(
      /note +layers 0-1: window 32 shrunk to \d+ to fit the budget \(50% of the prompt: \d+ of \d+ tokens\)/,
    );
  });

  it('a window given explicitly that cannot fit a budget in tokens is still refused, in one line', async () => {
    const io = capture();
    const code = await main(
      ['run', dir, '--prompt', 'hello', '--method', 'snapkv', '--budget', '8', '--window', '8'],
      io,
    );
    expect(code).toBe(2);
    expect(io.stderr).toMatch(
      /^kvsieve: OptionError: snapkv: option "window" must be an integer ≥ 1 and ≤ 7/,
    );
    expect(io.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('failures are one line without a stack trace; --debug adds the trace', async () => {
    const io = capture();
    expect(await main(['run', join(dir, 'missing'), '--prompt', 'x'], io)).toBe(2);
    expect(io.stderr.trim().split('\n')).toHaveLength(1);
    expect(io.stderr).toMatch(/^kvsieve: ModelFileError: .*missing/);
    const debug = capture();
    expect(await main(['run', join(dir, 'missing'), '--prompt', 'x', '--debug'], debug)).toBe(2);
    expect(debug.stderr.split('\n').length).toBeGreaterThan(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});

describe('kvsieve methods', () => {
  it('lists the installed methods with what each keeps', async () => {
    const io = capture();
    expect(await main(['methods'], io)).toBe(0);
    for (const name of [
      'snapkv',
      'pyramidkv',
      'h2o',
      'streamingllm',
      'adakv',
      'chunkkv',
      'structkv',
      'surfacelogickv',
    ])
      expect(io.stdout).toMatch(new RegExp(`^${name} +\\S`, 'm'));
  });

  it("shows one method's declared options, and names a missing one", async () => {
    const io = capture();
    expect(await main(['methods', 'snapkv'], io)).toBe(0);
    expect(io.stdout).toMatch(/^budget +.*\(required\)/m);
    expect(io.stdout).toMatch(/^window +.*32 \(halved to fit a smaller budget in tokens\)/m);
    expect(io.stdout).toMatch(/^pooling +one of "avgpool", "maxpool", "none" +"avgpool"/m);
    const missing = capture();
    expect(await main(['methods', 'nosuch'], missing)).toBe(2);
    expect(missing.stderr).toMatch(/@kvsieve\/methods-nosuch is not installed/);
  });
});

describe('methods from anywhere', () => {
  /** A method module outside the workspace: no imports, just the contract (kvsieve.method/v1). */
  const outside = mkdtempSync(join(tmpdir(), 'kvsieve-my-method-'));
  const file = join(outside, 'keep-last.mjs');
  writeFileSync(
    file,
    `export function createMethod(options) {
  const keep = options.budget ?? 4;
  return {
    spec: 'kvsieve.method/v1',
    name: 'keep-last',
    options: { budget: keep },
    begin(model) {
      return {
        observe: { window: 0 },
        async afterLayer(ctx) {
          if (ctx.length <= keep) return { keep: 'all', note: 'nothing evicted' };
          const row = Int32Array.from({ length: keep }, (_, i) => ctx.length - keep + i);
          return { keep: Array.from({ length: model.numKvHeads }, () => row.slice()) };
        },
      };
    },
  };
}
`,
  );

  it('kvsieve run --method ./path/to/module.js loads a method file from outside the workspace', async () => {
    const io = capture({ cwd: outside });
    const code = await main(
      [
        'run',
        dir,
        '--prompt',
        'a prompt long enough',
        '--max-tokens',
        '2',
        '--json',
        '--method',
        './keep-last.mjs',
        '--budget',
        '6',
      ],
      io,
    );
    expect(io.stderr).toBe('');
    expect(code).toBe(0);
    const out = JSON.parse(io.stdout);
    expect(out.layers.map((l: { kept: number[] }) => l.kept)).toEqual([
      [6, 6],
      [6, 6],
    ]);
    // An absolute path and a file: URL name the same module.
    const abs = capture();
    expect(
      await main(
        ['run', dir, '--prompt', 'a prompt long enough', '--max-tokens', '1', '--method', file],
        abs,
      ),
    ).toBe(0);
  });

  it('a missing module file or one that is not a method is one typed line', async () => {
    const io = capture({ cwd: outside });
    expect(await main(['run', dir, '--prompt', 'x', '--method', './nope.mjs'], io)).toBe(2);
    expect(io.stderr).toMatch(
      /^kvsieve: MissingPackageError: --method \.\/nope\.mjs: there is no file .*nope\.mjs; check the path/,
    );
    writeFileSync(join(outside, 'not-a-method.mjs'), 'export const x = 1;\n');
    const other = capture({ cwd: outside });
    expect(await main(['run', dir, '--prompt', 'x', '--method', './not-a-method.mjs'], other)).toBe(2);
    expect(other.stderr).toMatch(/exports neither createMethod\(options\) nor a definition/);
    writeFileSync(join(outside, 'broken.mjs'), 'export const = ;\n');
    const broken = capture({ cwd: outside });
    expect(await main(['run', dir, '--prompt', 'x', '--method', './broken.mjs'], broken)).toBe(2);
    expect(broken.stderr).toMatch(/the module .*broken\.mjs failed to load/);
  });
});

describeShared('kvsieve conformance --method NAME=SPEC', ['golden'], (shared) => {
  it('runs the checks of a method with another implementation of it', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'kvsieve-conformance-method-'));
    // A "SnapKV" that keeps the first tokens: it must fail the SnapKV checks.
    writeFileSync(
      join(outside, 'wrong-snapkv.mjs'),
      `export function createMethod(o) {
  return {
    spec: 'kvsieve.method/v1',
    name: 'wrong-snapkv',
    options: o,
    begin(model) {
      return {
        observe: { window: o.window ?? 32 },
        async afterLayer(ctx) {
          const row = Int32Array.from({ length: Math.min(o.budget, ctx.length) }, (_, i) => i);
          return { keep: Array.from({ length: model.numKvHeads }, () => row) };
        },
      };
    },
  };
}
`,
    );
    const io = capture({ cwd: outside });
    const code = await main(
      ['conformance', join(shared, 'golden'), '--method', 'snapkv=./wrong-snapkv.mjs'],
      io,
    );
    expect(code).toBe(1);
    expect(io.stdout).toMatch(/snapkv/);
    expect(io.stdout).toMatch(/\d+ passed, [1-9]\d* failed/);
  });
});

describe('the WebGPU driver notices', () => {
  // bin.ts relaunches a WebGPU run so that Dawn's two clamped-limit notices (printed from native
  // code) stay off the user's screen; --verbose shows them.
  const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
  const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
  const runBin = (extra: string[]) =>
    spawnSync(
      tsx,
      [
        '--conditions=@kvsieve/source',
        bin,
        'run',
        dir,
        '--prompt',
        'hello',
        '--max-tokens',
        '2',
        '--backend',
        'webgpu',
        ...extra,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );

  it('are filtered from a normal run and shown with --verbose', () => {
    const quiet = runBin([]);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toMatch(/backend +webgpu/);
    expect(quiet.stderr).not.toMatch(/artificially reduced/);
    const verbose = runBin(['--verbose']);
    expect(verbose.status).toBe(0);
    expect(verbose.stderr).toMatch(/maxDynamicUniformBuffersPerPipelineLayout artificially reduced/);
  });
});

describe('bad model files through the command line', () => {
  /** A copy of the tiny model folder with one thing broken. */
  function broken(edit: (dir: string) => void): string {
    const dir = tinyModelDir(6);
    edit(dir);
    return dir;
  }
  const config = (dir: string) => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));

  it.each([
    [
      'a layer count of 10^9',
      (d: string) =>
        writeFileSync(join(d, 'config.json'), JSON.stringify({ ...config(d), num_hidden_layers: 1e9 })),
      /^kvsieve: Model(File|Config)Error: .*1000000000/,
    ],
    [
      'config.json that is null',
      (d: string) => writeFileSync(join(d, 'config.json'), 'null'),
      /^kvsieve: Model(File|Config)Error: .*config\.json/,
    ],
    [
      'a truncated safetensors file',
      (d: string) => {
        const p = join(d, 'model.safetensors');
        writeFileSync(p, readFileSync(p).subarray(0, 5000));
      },
      /^kvsieve: ModelFileError: .*model\.safetensors/,
    ],
    [
      'an index whose shard path leaves the folder',
      (d: string) => {
        renameSync(join(d, 'model.safetensors'), join(d, '..', `${basename(d)}-outside.safetensors`));
        const shard = readFileSync(join(d, '..', `${basename(d)}-outside.safetensors`));
        const names = Object.keys(
          JSON.parse(shard.subarray(8, 8 + Number(shard.readBigUInt64LE(0))).toString('utf8')),
        );
        const weight_map = Object.fromEntries(
          names.filter((n) => n !== '__metadata__').map((n) => [n, `../${basename(d)}-outside.safetensors`]),
        );
        writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map }));
      },
      /^kvsieve: ModelFileError: .*leaves the model folder|^kvsieve: ModelFileError: .*\.\.\//,
    ],
  ])('%s: exit 2, one kvsieve: line, in well under a few seconds', async (_what, edit, message) => {
    const dir = broken(edit);
    const io = capture();
    const t0 = performance.now();
    expect(await main(['run', dir, '--prompt', 'hello'], io)).toBe(2);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(io.stderr.trim().split('\n')).toHaveLength(1);
    expect(io.stderr).toMatch(message);
    expect(io.stderr).not.toMatch(/\n\s+at /);
  });
});
