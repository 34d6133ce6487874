import { type Backend, CpuBackend, OptionError } from '@kvsieve/core';
import { defaultImporter, importOptional, MissingPackageError, type ModuleImporter } from './resolve.js';

/** What `--backend` accepts: `auto` picks WebGPU on a hardware GPU, else wasm. */
export const BACKEND_NAMES = ['auto', 'wasm', 'webgpu', 'cpu'] as const;
/** One of {@link BACKEND_NAMES}. */
export type BackendName = (typeof BACKEND_NAMES)[number];
/** A backend that computes (what `auto` resolves to). */
export type ChosenBackendName = Exclude<BackendName, 'auto'>;

/** `--backend`'s value (default auto), or an OptionError naming the choices. */
export function parseBackendName(v: string | undefined): BackendName {
  if (v === undefined) return 'auto';
  if (!(BACKEND_NAMES as readonly string[]).includes(v)) {
    throw new OptionError(`--backend must be ${BACKEND_NAMES.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as BackendName;
}

// A WebAssembly memory is one process's; more threads than this are a typo, not a machine.
const MAX_THREADS = 1024;

/** `--threads`' value, or an OptionError (a positive whole number). */
export function parseThreads(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new OptionError(
      `--threads must be a whole number from 1 to ${MAX_THREADS}, got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

/** The backend a command computes on, and what the run summary says about it. */
export interface BackendChoice {
  /** The backend, created and ready; the caller disposes it. */
  readonly backend: Backend;
  /** Which backend it is (never `auto`). */
  readonly name: ChosenBackendName;
  /** What `--backend` asked for. */
  readonly requested: BackendName;
  /** Why this backend: "asked for", or auto's reason ("no hardware GPU adapter: …"). */
  readonly reason: string;
  /** Threads computing (wasm); null on backends the flag does not apply to. */
  readonly threads: number | null;
  /** Threads asked for (`--threads`, or kernels-wasm's default), where the flag applies. */
  readonly requestedThreads: number | null;
  /** Things the user should know (e.g. `--threads` ignored), one line each, without a prefix. */
  readonly notes: readonly string[];
}

/** What a WebGPU adapter says about itself (GPUAdapterInfo's fields that matter here). */
export interface AdapterInfo {
  /** GPU vendor, e.g. "nvidia", or empty. */
  readonly vendor?: string;
  /** GPU architecture, e.g. "ampere"; Dawn says "software" for CPU adapters. */
  readonly architecture?: string;
  /** Device name or id, when the driver gives one. */
  readonly device?: string;
  /** The driver's description of the adapter, e.g. "llvmpipe (LLVM 15.0.7, 256 bits)". */
  readonly description?: string;
  /** True for a fallback (software) adapter. */
  readonly isFallbackAdapter?: boolean;
}

/** The outcome of looking for a GPU: `gpu` is set only for a hardware adapter. */
export interface GpuProbe {
  /** The GPU object to create the backend on (Dawn's, or navigator.gpu); null: no hardware GPU. */
  readonly gpu: unknown | null;
  /** "nvidia ampere …" for a hardware adapter, else why there is none. */
  readonly detail: string;
}

/**
 * Why an adapter is not a hardware GPU ("lavapipe is a CPU rasterizer"), or null if it is one.
 * Software adapters (Mesa's llvmpipe behind lavapipe, SwiftShader, Windows' WARP) run shaders on
 * the CPU cores, slower there than the wasm backend; Dawn marks them architecture "software" or
 * as fallback adapters, and their names give them away where it does not.
 */
export function softwareAdapter(info: AdapterInfo): string | null {
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  const known: [RegExp, string][] = [
    [/llvmpipe|lavapipe|softpipe/i, 'lavapipe'],
    [/swiftshader/i, 'SwiftShader'],
    [/\bwarp\b|basic render/i, 'WARP'],
  ];
  for (const [re, name] of known) if (re.test(text)) return `${name} is a CPU rasterizer`;
  if (info.isFallbackAdapter || /^(software|cpu)$/i.test(info.architecture ?? ''))
    return `the only adapter (${text || 'unnamed'}) is a software one`;
  return null;
}

// Dawn's instance must outlive every device made from it, or the process dies at random
// (ENVIRONMENT.md): one per loaded module, held for the process's lifetime; the probe's instance is
// also the one the backend is created on.
const dawnInstances = new Map<object, unknown>();

/** Look for a hardware GPU: navigator.gpu (a browser-like host), else Dawn (npm `webgpu`). */
export async function probeGpu(importer: ModuleImporter): Promise<GpuProbe> {
  type Gpu = { requestAdapter(): Promise<{ info?: AdapterInfo } | null> };
  let gpu = (globalThis as { navigator?: { gpu?: Gpu } }).navigator?.gpu;
  if (!gpu) {
    let mod: Record<string, unknown> | null;
    try {
      mod = await importOptional(importer, 'webgpu');
    } catch (e) {
      return { gpu: null, detail: `WebGPU unavailable: Dawn failed to load (${firstLine(e)})` };
    }
    if (!mod || typeof mod.create !== 'function')
      return { gpu: null, detail: "WebGPU unavailable: the 'webgpu' (Dawn) package is not installed" };
    if (!dawnInstances.has(mod)) dawnInstances.set(mod, (mod.create as (flags: string[]) => Gpu)([]));
    gpu = dawnInstances.get(mod) as Gpu;
  }
  let adapter: { info?: AdapterInfo } | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return { gpu: null, detail: `no WebGPU adapter (${firstLine(e)})` };
  }
  if (!adapter) return { gpu: null, detail: 'no WebGPU adapter (no Vulkan, Metal or D3D12 driver found)' };
  const info = adapter.info ?? {};
  const software = softwareAdapter(info);
  if (software) return { gpu: null, detail: `no hardware GPU adapter: ${software}` };
  const name = [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unnamed';
  return { gpu, detail: `hardware GPU adapter ${name}` };
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}

/** Options of {@link chooseBackend}. */
export interface ChooseOptions {
  /** `--threads`: the wasm backend's threads; ignored, with a note, on the other backends. */
  readonly threads?: number | undefined;
  /** Loads the optional backend packages (`@kvsieve/kernels-wasm`, `@kvsieve/kernels-webgpu`, `webgpu`). */
  readonly importer: ModuleImporter;
  /** How auto looks for a GPU (tests give a fake one). */
  readonly probe?: (importer: ModuleImporter) => Promise<GpuProbe>;
}

/** Create the backend `--backend` asks for (auto: WebGPU on a hardware GPU, else wasm). */
export async function chooseBackend(requested: BackendName, opts: ChooseOptions): Promise<BackendChoice> {
  const { threads, importer } = opts;
  const ignored = (name: string, why: string) =>
    threads === undefined ? [] : [`--threads ${threads} is ignored: the ${name} backend ${why}`];
  if (requested === 'cpu') {
    return {
      backend: new CpuBackend(),
      name: 'cpu',
      requested,
      reason: 'asked for (the f64 reference, slow)',
      threads: null,
      requestedThreads: null,
      notes: ignored('cpu', 'is the single-threaded reference'),
    };
  }
  let reason = 'asked for';
  if (requested === 'auto') {
    const probe = await (opts.probe ?? probeGpu)(importer);
    if (probe.gpu !== null) {
      const backend = await createWebGpu(importer, { gpu: probe.gpu });
      return {
        ...webgpuChoice(backend, requested, `auto: ${probe.detail}`),
        notes: ignored('webgpu', 'computes on the GPU'),
      };
    }
    reason = `auto: ${probe.detail}`;
  } else if (requested === 'webgpu') {
    const backend = await createWebGpu(importer, {});
    const name = (backend as { adapterName?: string }).adapterName ?? '';
    const software = softwareAdapter({ description: name });
    const notes = ignored('webgpu', 'computes on the GPU');
    return {
      ...webgpuChoice(backend, requested, `asked for (${name || 'adapter'})`),
      notes: software
        ? [...notes, `the adapter is not a GPU (${software}); --backend wasm is faster here`]
        : notes,
    };
  }
  // No --threads: kernels-wasm's own default (its worker pool sizes itself to the machine).
  const backend = (await createWasm(importer, threads)) as Backend & {
    threads?: number;
    requestedThreads?: number;
    threadsNote?: string;
  };
  const computing = backend.threads ?? 1;
  const wanted = backend.requestedThreads ?? threads ?? computing;
  return {
    backend,
    name: 'wasm',
    requested,
    reason,
    threads: computing,
    requestedThreads: wanted,
    notes:
      computing === wanted
        ? []
        : [
            `wasm computes on ${computing} of the ${wanted} threads asked for${backend.threadsNote ? `: ${backend.threadsNote}` : ''}`,
          ],
  };
}

function webgpuChoice(backend: Backend, requested: BackendName, reason: string) {
  return { backend, name: 'webgpu' as const, requested, reason, threads: null, requestedThreads: null };
}

async function createWebGpu(importer: ModuleImporter, options: { gpu?: unknown }): Promise<Backend> {
  const mod = await importOptional(importer, '@kvsieve/kernels-webgpu');
  if (!mod) {
    throw new MissingPackageError(
      '--backend webgpu needs the package @kvsieve/kernels-webgpu, which is not installed; install it (npm install @kvsieve/kernels-webgpu) and run again',
    );
  }
  if (typeof mod.createWebGpuBackend !== 'function') {
    throw new MissingPackageError(
      '@kvsieve/kernels-webgpu does not export createWebGpuBackend(); update it to a matching version',
    );
  }
  return (await mod.createWebGpuBackend(options)) as Backend;
}

async function createWasm(importer: ModuleImporter, threads: number | undefined): Promise<Backend> {
  const mod = await importOptional(importer, '@kvsieve/kernels-wasm');
  if (!mod) {
    throw new MissingPackageError(
      '--backend wasm needs the package @kvsieve/kernels-wasm, which is not installed; install it (npm install @kvsieve/kernels-wasm) and run again',
    );
  }
  if (typeof mod.createWasmBackend !== 'function') {
    throw new MissingPackageError(
      '@kvsieve/kernels-wasm does not export createWasmBackend(); update it to a matching version',
    );
  }
  return (await mod.createWasmBackend(threads === undefined ? {} : { threads })) as Backend;
}

/** "2 threads" / "1 thread (4 requested)"; empty where threads do not apply (webgpu, cpu). */
export function describeThreads(c: BackendChoice): string {
  if (c.threads === null) return '';
  const n = `${c.threads} thread${c.threads === 1 ? '' : 's'}`;
  return c.requestedThreads !== null && c.requestedThreads !== c.threads
    ? `${n} (${c.requestedThreads} requested)`
    : n;
}

/** The backend `--backend NAME` computes on (see {@link chooseBackend} for why and on how many threads). */
export async function resolveBackend(
  name: BackendName,
  importer: ModuleImporter = defaultImporter,
  threads?: number,
): Promise<Backend> {
  return (await chooseBackend(name, { importer, threads })).backend;
}
