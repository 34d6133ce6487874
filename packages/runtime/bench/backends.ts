/**
 * The backends a bench script measures, by the CLI's names: `cpu` (the f64 reference), `wasm`
 * (@kvsieve/kernels-wasm, WebAssembly SIMD on the CPU cores), `webgpu` (@kvsieve/kernels-webgpu),
 * and `auto`: WebGPU when its adapter is a hardware GPU, else wasm (a software adapter such as
 * lavapipe or SwiftShader runs shaders on the CPU, slower there than wasm). Backend packages are
 * imported by computed specifiers: runtime depends on neither, they are dev dependencies here.
 */
import { type Backend, CpuBackend } from '@kvsieve/core';

export type BenchBackend = Backend & { destroy?(): void; adapterName?: string; threads?: number };

export const BENCH_BACKENDS = ['auto', 'wasm', 'webgpu', 'cpu'] as const;

/** Software rasterizers, by what Dawn's adapter info says of them (vendor, architecture, device). */
const SOFTWARE_ADAPTER = /software|llvmpipe|lavapipe|swiftshader|\bcpu\b/i;

export async function wasmBackend(threads?: number): Promise<BenchBackend> {
  const specifier = '@kvsieve/kernels-wasm';
  const mod = (await import(specifier)) as {
    createWasmBackend(o: { threads?: number }): Promise<BenchBackend>;
  };
  return mod.createWasmBackend(threads === undefined ? {} : { threads });
}

export async function webgpuBackend(): Promise<BenchBackend> {
  const specifier = '@kvsieve/kernels-webgpu';
  const mod = (await import(specifier)) as { createWebGpuBackend(): Promise<BenchBackend> };
  return mod.createWebGpuBackend();
}

/** The backend `name` asks for, and a label saying which and why ("wasm (auto: …), 2 threads"). */
export async function makeBenchBackend(
  name: string,
  threads?: number,
): Promise<{ backend: BenchBackend; label: string }> {
  if (!(BENCH_BACKENDS as readonly string[]).includes(name))
    throw new Error(`--backend must be ${BENCH_BACKENDS.join(', ')}, got ${JSON.stringify(name)}`);
  const wasm = async (why: string) => {
    const backend = await wasmBackend(threads);
    const n = backend.threads ?? 1;
    return { backend, label: `wasm (${why}), ${n} thread${n === 1 ? '' : 's'}` };
  };
  if (name === 'cpu') return { backend: new CpuBackend(), label: 'cpu (asked for)' };
  if (name === 'wasm') return wasm('asked for');
  let gpu: BenchBackend;
  try {
    gpu = await webgpuBackend();
  } catch (e) {
    if (name === 'webgpu') throw e;
    return wasm(`auto: no WebGPU adapter (${String((e as Error).message).split('.')[0]})`);
  }
  const adapter = gpu.adapterName ?? 'adapter';
  if (name === 'webgpu') return { backend: gpu, label: `webgpu (asked for; ${adapter})` };
  if (SOFTWARE_ADAPTER.test(adapter)) {
    gpu.destroy?.();
    return wasm(`auto: the WebGPU adapter ${adapter} is software; --backend webgpu to use it anyway`);
  }
  return { backend: gpu, label: `webgpu (auto: hardware adapter ${adapter})` };
}
