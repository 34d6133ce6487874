import { WasmModuleError } from '../errors.js';

import { type CompiledModule, wasmApi } from './api.js';
import type { Variant } from './kernels.js';

// One literal URL per file, so that bundlers see `new URL('…', import.meta.url)` and copy the
// module; the same relative path works from src/wasm/ (tests) and dist/wasm/ (published).
function moduleUrl(variant: Variant): URL {
  return variant === 'mt'
    ? new URL('../../wasm/kernels-mt.wasm', import.meta.url)
    : new URL('../../wasm/kernels-st.wasm', import.meta.url);
}

const BUILD_HINT =
  "the package's wasm build has not run: in a kvsieve checkout, run `pnpm --filter @kvsieve/kernels-wasm build` " +
  '(it needs clang-16 and lld-16: `bash scripts/setup.sh`)';

async function moduleBytes(url: URL): Promise<Uint8Array | ArrayBuffer> {
  if (url.protocol === 'file:') {
    // Node (and test runners): read the file. Fetched with process.getBuiltinModule (Node 20.16+)
    // rather than imported: a browser bundler would try to resolve even a lazy `import('node:…')`
    // (webpack fails on it, Vite stubs it with a warning).
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: 'node:fs/promises') => unknown } })
      .process;
    const fs = proc?.getBuiltinModule?.('node:fs/promises') as typeof import('node:fs/promises') | undefined;
    if (!fs) throw new WasmModuleError(`kernels-wasm: cannot read ${url.pathname}: no Node file system here`);
    const { readFile } = fs;
    try {
      return await readFile(url);
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new WasmModuleError(
        code === 'ENOENT'
          ? `kernels-wasm: ${url.pathname} is missing; ${BUILD_HINT}`
          : `kernels-wasm: cannot read ${url.pathname}: ${(e as Error).message}`,
      );
    }
  }
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new WasmModuleError(`kernels-wasm: cannot fetch ${url.href}: ${(e as Error).message}`);
  }
  if (!response.ok) {
    throw new WasmModuleError(
      `kernels-wasm: fetching ${url.href} gave HTTP ${response.status}; serve the package's wasm/ folder beside its JavaScript (bundlers copy it when they handle new URL(…, import.meta.url))`,
    );
  }
  return response.arrayBuffer();
}

const compiled = new Map<Variant, Promise<CompiledModule>>();

/** The compiled module of `variant`, compiled once per process (or page) and reused. */
export function compileKernels(variant: Variant): Promise<CompiledModule> {
  let module = compiled.get(variant);
  if (!module) {
    module = (async () => {
      const url = moduleUrl(variant);
      const bytes = await moduleBytes(url);
      try {
        return await wasmApi().compile(bytes);
      } catch (e) {
        throw new WasmModuleError(
          `kernels-wasm: this JavaScript engine cannot compile ${url.pathname.split('/').pop()}: ${(e as Error).message}. ` +
            'The kernels need WebAssembly SIMD128 and bulk memory (Node 16.4+, Chrome 91+, Firefox 89+, Safari 16.4+)' +
            (variant === 'mt' ? ' and, for threads, WebAssembly atomics.' : '.'),
        );
      }
    })();
    // A failed load is not cached: a later call (after building) may succeed.
    module.catch(() => compiled.delete(variant));
    compiled.set(variant, module);
  }
  return module;
}
