import { resolve } from 'node:path';
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

export async function makeBackend(name: string): Promise<Backend> {
  if (name === 'cpu') return new CpuBackend();
  if (name !== 'webgpu')
    throw new OptionError(`--backend must be cpu or webgpu, got ${JSON.stringify(name)}`);
  // Computed specifier: eval does not depend on kernels-webgpu; it is used when installed.
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
