import {
  type Backend,
  type CompressionMethod,
  CpuBackend,
  KvsieveError,
  METHOD_SPEC,
  OptionError,
} from '@kvsieve/core';

/** Thrown when an optional package the command needs is not installed. */
export class MissingPackageError extends KvsieveError {
  override name = 'MissingPackageError';
}

/** How the CLI loads optional packages; tests replace it. */
export type ModuleImporter = (specifier: string) => Promise<Record<string, unknown>>;

export const defaultImporter: ModuleImporter = (specifier) => import(specifier);

function isMissing(e: unknown, specifier: string): boolean {
  const err = e as { code?: string; message?: string };
  return (
    (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') &&
    typeof err.message === 'string' &&
    err.message.includes(specifier)
  );
}

async function importOptional(
  importer: ModuleImporter,
  specifier: string,
  why: string,
): Promise<Record<string, unknown>> {
  try {
    return await importer(specifier);
  } catch (e) {
    if (isMissing(e, specifier)) {
      throw new MissingPackageError(
        `${why} needs the package ${specifier}, which is not installed; install it (pnpm add ${specifier}, or npm install ${specifier}) and run again`,
      );
    }
    throw e;
  }
}

export async function resolveBackend(
  name: 'cpu' | 'webgpu',
  importer: ModuleImporter = defaultImporter,
): Promise<Backend> {
  if (name === 'cpu') return new CpuBackend();
  const mod = await importOptional(importer, '@kvsieve/kernels-webgpu', '--backend webgpu');
  const create = mod.createWebGpuBackend;
  if (typeof create !== 'function') {
    throw new MissingPackageError(
      '@kvsieve/kernels-webgpu does not export createWebGpuBackend(); update it to a matching version',
    );
  }
  return (await create()) as Backend;
}

export async function resolveMethod(
  name: string,
  options: Record<string, unknown>,
  importer: ModuleImporter = defaultImporter,
): Promise<CompressionMethod> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    throw new OptionError(
      `--method must be a method name such as snapkv or pyramidkv (lowercase letters, digits, dashes), got ${JSON.stringify(name)}`,
    );
  }
  const specifier = `@kvsieve/methods-${name}`;
  const mod = await importOptional(importer, specifier, `--method ${name}`);
  const create = mod.createMethod;
  if (typeof create !== 'function') {
    throw new MissingPackageError(
      `${specifier} does not export createMethod(options); it is not a kvsieve method package`,
    );
  }
  const method = create(options) as CompressionMethod;
  if (method?.spec !== METHOD_SPEC) {
    throw new MissingPackageError(
      `${specifier} implements ${String(method?.spec)}, this CLI runs ${METHOD_SPEC}; install matching versions`,
    );
  }
  return method;
}
