import { WasmModuleError } from '../errors.js';
import type { MemoryLike } from './kernels.js';

/** A compiled `WebAssembly.Module`, opaque here. */
export type CompiledModule = object;

/**
 * The parts of WebAssembly's JavaScript API this package uses, typed here: TypeScript declares
 * them only in its DOM library, which Node-only programs (the repository root's included) do not
 * load, and this package's emitted types must not require it.
 */
export interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => MemoryLike;
  compile(bytes: ArrayBuffer | Uint8Array): Promise<CompiledModule>;
  instantiate(
    module: CompiledModule,
    imports: Record<string, Record<string, unknown>>,
  ): Promise<{ readonly exports: Record<string, unknown> }>;
}

/** The engine's `WebAssembly` object. */
export function wasmApi(): WasmApi {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!api) throw new WasmModuleError('kernels-wasm: this JavaScript engine has no WebAssembly');
  return api;
}
