import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Backend, CpuBackend, KvsieveError, OptionError } from '@kvsieve/core';

/** stories260K in the project's shared data beside the checkout (../shared). */
export const DEFAULT_MODEL = resolve(
  import.meta.dirname ?? '.',
  '../../../../shared/models/stories260K/stories260K.gguf',
);

export function positiveInt(name: string, text: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1)
    throw new OptionError(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return v;
}

/** `cpu` (the f64 reference), `wasm` (WebAssembly SIMD on the CPU cores) or `webgpu`. */
export async function makeBackend(name: string): Promise<Backend & { destroy?(): void }> {
  if (name === 'cpu') return new CpuBackend();
  // Computed specifiers: eval does not depend on the kernel packages; they are used when installed.
  if (name === 'wasm') {
    const specifier = '@kvsieve/kernels-wasm';
    const mod = (await import(specifier)) as { createWasmBackend(): Promise<Backend> };
    return mod.createWasmBackend();
  }
  if (name !== 'webgpu')
    throw new OptionError(`--backend must be cpu, wasm or webgpu, got ${JSON.stringify(name)}`);
  const specifier = '@kvsieve/kernels-webgpu';
  const mod = (await import(specifier)) as { createWebGpuBackend(): Promise<Backend> };
  return mod.createWebGpuBackend();
}

/** Run a command's main: bad options and bad files print one readable line; bugs keep their stack. */
export function runCommand(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    const code = (e as { code?: unknown }).code;
    if (e instanceof KvsieveError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      console.error(`error: ${(e as Error).message}`);
      process.exitCode = 1;
      return;
    }
    throw e;
  });
}

/**
 * A file a workspace package keeps beside its sources (e.g. a test fixture), found through the
 * package's own resolved entry point (`src/index.ts` under the source condition, `dist/index.js`
 * otherwise: both one folder below the package root), so it does not depend on where this script
 * lives. `undefined` when the package does not ship it (the `files` of a published package).
 */
export function packageFile(pkg: string, relative: string): string | undefined {
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve(pkg));
  } catch {
    return undefined;
  }
  const path = resolve(dirname(entry), '..', relative);
  return existsSync(path) ? path : undefined;
}

/** SurfaceLogicKV's committed stories260K profile (`--answer teacher`), inside its package. */
export const SLKV_FIXTURE = 'test/fixtures/stories260K.slkv-profile.json';
