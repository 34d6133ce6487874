// #dawn: Dawn in Node, a module that only fails in browsers (package.json "imports").
import { type DawnModule, loadDawn } from '#dawn';
import { NO_ADAPTER_HELP, NoAdapterError } from '../errors.js';

// Dawn's instance must outlive every device created from it: if it is garbage collected while a
// device is alive, the process crashes at random (ENVIRONMENT.md). Held here for the process lifetime.
let dawnInstance: GPU | undefined;

async function nodeGpu(): Promise<GPU> {
  if (dawnInstance) return dawnInstance;
  let mod: DawnModule;
  try {
    mod = await loadDawn();
  } catch (err) {
    throw new NoAdapterError(
      `WebGPU: no navigator.gpu and the 'webgpu' (Dawn) module could not be loaded (${(err as Error).message}). ${NO_ADAPTER_HELP}`,
    );
  }
  dawnInstance = mod.create([]);
  return dawnInstance;
}

export interface DeviceOptions {
  /** Use this device instead of acquiring one (it must have the limits the kernels need). */
  readonly device?: GPUDevice;
  /** Use this GPU object (e.g. `navigator.gpu`) instead of detecting one. */
  readonly gpu?: GPU;
  /** Which adapter to ask for where there are several (`high-performance` or `low-power`). */
  readonly powerPreference?: GPUPowerPreference;
}

const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const;

/** Acquire a device with the adapter's own limits (the defaults are smaller than lavapipe offers). */
export async function acquireDevice(
  opts: DeviceOptions,
): Promise<{ device: GPUDevice; adapterName: string }> {
  if (opts.device) return { device: opts.device, adapterName: 'provided device' };
  const gpu = opts.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu ?? (await nodeGpu());
  const adapter = await gpu.requestAdapter(
    opts.powerPreference ? { powerPreference: opts.powerPreference } : {},
  );
  if (!adapter) throw new NoAdapterError(`WebGPU: requestAdapter() found no adapter. ${NO_ADAPTER_HELP}`);
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  // timestamp-query only serves `--profile`'s per-kernel times; asking for it costs nothing otherwise.
  // subgroups: the GEMV reduces a row across one subgroup instead of through workgroup memory.
  const requiredFeatures = (['shader-f16', 'timestamp-query', 'subgroups'] as GPUFeatureName[]).filter((f) =>
    adapter.features.has(f),
  );
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info;
  const adapterName =
    [info?.vendor, info?.architecture, info?.device].filter(Boolean).join(' ') || 'unknown adapter';
  return { device, adapterName };
}
