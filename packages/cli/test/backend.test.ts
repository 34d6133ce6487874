import { CpuBackend } from '@kvsieve/core';
import { describe, expect, it } from 'vitest';
import { chooseBackend, type ModuleImporter, main, softwareAdapter } from '../src/index.js';
import { capture } from './capture.js';
import { tinyModelDir } from './tiny-model.js';

/** The real importer, except for a fake Dawn (`webgpu`) whose one adapter is `adapter`. */
function withAdapter(adapter: unknown, seen: unknown[] = []): ModuleImporter {
  return async (specifier) => {
    if (specifier === 'webgpu') return { create: () => ({ requestAdapter: async () => adapter }) };
    if (specifier === '@kvsieve/kernels-webgpu') {
      return {
        // Records what the CLI creates the WebGPU backend on; a CPU backend stands in for it.
        createWebGpuBackend: async (o: unknown) => {
          seen.push(o);
          return new CpuBackend();
        },
      };
    }
    return import(specifier);
  };
}

const LAVAPIPE = {
  info: {
    vendor: 'mesa',
    architecture: 'software',
    device: 'llvmpipe-llvm-15-0-6-256-bits-',
    description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
    isFallbackAdapter: true,
  },
};

describe('--backend auto', () => {
  it('picks wasm when there is no adapter at all', async () => {
    const c = await chooseBackend('auto', { importer: withAdapter(null), threads: 1 });
    expect(c.name).toBe('wasm');
    expect(c.reason).toMatch(/^auto: no WebGPU adapter/);
    expect([c.threads, c.requestedThreads]).toEqual([1, 1]);
    expect(c.backend.constructor.name).toBe('WasmBackend');
  });

  it('picks wasm over a software adapter (lavapipe), saying why', async () => {
    const seen: unknown[] = [];
    const c = await chooseBackend('auto', { importer: withAdapter(LAVAPIPE, seen), threads: 1 });
    expect(c.name).toBe('wasm');
    expect(c.reason).toBe('auto: no hardware GPU adapter: lavapipe is a CPU rasterizer');
    expect(seen).toEqual([]); // no WebGPU backend was created
  });

  it('picks WebGPU on a hardware adapter, created on the probed GPU object, and notes --threads', async () => {
    const seen: { gpu?: { requestAdapter: unknown } }[] = [];
    const hw = { info: { vendor: 'nvidia', architecture: 'ampere', device: 'rtx 3060' } };
    const c = await chooseBackend('auto', { importer: withAdapter(hw, seen as unknown[]), threads: 4 });
    expect(c.name).toBe('webgpu');
    expect(c.reason).toBe('auto: hardware GPU adapter nvidia ampere rtx 3060');
    expect(c.threads).toBeNull();
    expect(seen).toHaveLength(1);
    expect(typeof seen[0]!.gpu?.requestAdapter).toBe('function');
    expect(c.notes).toEqual(['--threads 4 is ignored: the webgpu backend computes on the GPU']);
  });

  it('treats a missing Dawn package as no GPU', async () => {
    const importer: ModuleImporter = async (s) => {
      if (s === 'webgpu')
        throw Object.assign(new Error(`Cannot find package 'webgpu'`), { code: 'ERR_MODULE_NOT_FOUND' });
      return import(s);
    };
    const c = await chooseBackend('auto', { importer, threads: 1 });
    expect(c.name).toBe('wasm');
    expect(c.reason).toMatch(/'webgpu' \(Dawn\) package is not installed/);
  });
});

describe('software adapters', () => {
  it.each([
    [LAVAPIPE.info, 'lavapipe is a CPU rasterizer'],
    [{ vendor: 'google', architecture: 'swiftshader', device: 'subzero' }, 'SwiftShader is a CPU rasterizer'],
    [{ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' }, 'WARP is a CPU rasterizer'],
    [{ vendor: 'acme', isFallbackAdapter: true }, 'the only adapter (acme) is a software one'],
    [{ vendor: 'amd', architecture: 'rdna-3' }, null],
    [{ vendor: 'apple', architecture: 'metal-3' }, null],
  ])('%j → %s', (info, expected) => {
    expect(softwareAdapter(info)).toBe(expected);
  });
});

describe('backend flags on the command line', () => {
  const dir = tinyModelDir(4);

  it.each([['0'], ['-2'], ['1.5'], ['many'], [''], ['5000']])(
    '--threads %j is a one-line OptionError (exit 2) on every command',
    async (bad) => {
      for (const argv of [
        ['run', dir, '--prompt', 'x'],
        ['inspect', dir, '--prompt', 'x', '--method', 'snapkv'],
        ['eval', dir],
        ['calibrate', dir],
      ]) {
        const io = capture();
        expect(await main([...argv, `--threads=${bad}`], io)).toBe(2);
        expect(io.stderr).toBe(
          `kvsieve: OptionError: --threads must be a whole number from 1 to 1024, got ${JSON.stringify(bad)}\n`,
        );
      }
    },
  );

  it('--backend names its four choices on every command', async () => {
    for (const argv of [
      ['run', dir, '--prompt', 'x'],
      ['eval', dir],
      ['calibrate', dir],
    ]) {
      const io = capture();
      expect(await main([...argv, '--backend', 'cuda'], io)).toBe(2);
      expect(io.stderr).toBe('kvsieve: OptionError: --backend must be auto, wasm, webgpu, cpu, got "cuda"\n');
    }
  });

  it('the run summary names the backend, why and its threads (table and --json)', async () => {
    const io = capture();
    const args = ['run', dir, '--prompt', 'hello', '--max-tokens', '2', '--threads', '1'];
    expect(await main(args, io, withAdapter(LAVAPIPE))).toBe(0);
    expect(io.stderr).toMatch(
      /\nbackend +wasm \(auto: no hardware GPU adapter: lavapipe is a CPU rasterizer\), 1 thread\n/,
    );
    const json = capture();
    expect(await main([...args, '--json', '--backend', 'wasm'], json, withAdapter(null))).toBe(0);
    expect(JSON.parse(json.stdout).backend).toEqual({
      name: 'wasm',
      requested: 'wasm',
      reason: 'asked for',
      threads: 1,
      requestedThreads: 1,
    });
  });

  it('--threads on the cpu backend is ignored with a note, and the summary gives no thread count', async () => {
    const io = capture();
    const args = ['run', dir, '--prompt', 'hello', '--max-tokens', '1', '--backend', 'cpu', '--threads', '3'];
    expect(await main([...args, '--json'], io)).toBe(0);
    expect(io.stderr).toBe(
      'kvsieve: note: --threads 3 is ignored: the cpu backend is the single-threaded reference\n',
    );
    expect(JSON.parse(io.stdout).backend).toMatchObject({
      name: 'cpu',
      threads: null,
      requestedThreads: null,
    });
  });
});

describe('run --profile', () => {
  const dir = tinyModelDir(4);

  it('on WebGPU prints per-token device counters and, with timestamp-query, GPU time per kernel', async () => {
    const io = capture();
    const code = await main(
      ['run', dir, '--prompt', 'hello', '--max-tokens', '6', '--backend', 'webgpu', '--profile'],
      io,
    );
    expect(code).toBe(0);
    expect(io.stderr).toMatch(/profile: per decode token, mean of 5 steps\n/);
    expect(io.stderr).toMatch(/\nqueue submissions +1\.00\n/);
    expect(io.stderr).toMatch(/\nbytes read back +4 B in 1\.00 reads\n/);
    expect(io.stderr).toMatch(
      /GPU time per kernel (\(timestamp-query\): [\d.]+ ms per token\n\S+ +[\d.]+ ms +[\d.]+%|: this adapter has no timestamp-query)/,
    );
  });

  it('on another backend says the counters are the WebGPU backend’s, and --profile belongs to run', async () => {
    const io = capture();
    expect(
      await main(['run', dir, '--prompt', 'hello', '--max-tokens', '2', '--backend', 'cpu', '--profile'], io),
    ).toBe(0);
    expect(io.stderr).toMatch(/--profile: the cpu backend keeps no device counters/);
    const bad = capture();
    expect(await main(['inspect', dir, '--prompt', 'x', '--method', 'snapkv', '--profile'], bad)).toBe(2);
    expect(bad.stderr).toBe('kvsieve: OptionError: --profile measures the decode loop: use it with run\n');
  });
});
