// A plain copy between two storage buffers is the most a kernel can stream through this device's
// memory; decode reads every weight and cache byte once per token, so its achieved bandwidth is
// judged against this figure measured in the same run, on the same device, through the same API.

const STORAGE = 128;
const WORKGROUP = 256;
// One vec4<u32> per load and store: 16-byte accesses, coalesced across a workgroup.
const VEC_BYTES = 16;

const COPY_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  // Grid-stride: buffers larger than one dispatch's invocations are still copied whole.
  let n = arrayLength(&src);
  let stride = groups.x * ${WORKGROUP}u;
  for (var i = gid.x; i < n; i += stride) {
    dst[i] = src[i];
  }
}
`;

/** How {@link measureCopyBandwidth} sizes and repeats its copy. */
export interface CopyBandwidthOptions {
  /** Bytes of the source buffer (default 1 GiB), capped by the device's binding and buffer limits. */
  readonly bytes?: number;
  /** Timed repetitions (default 5). */
  readonly repetitions?: number;
  /** Seconds one repetition should take at least (default 0.05): copies are batched until it does. */
  readonly minSeconds?: number;
}

/** What {@link measureCopyBandwidth} measured: the best and median rate, and how it got them. */
export interface CopyBandwidth {
  /** Bytes of each buffer (the source; the destination is as large). */
  readonly bufferBytes: number;
  /** Copies recorded in each timed submission. */
  readonly copiesPerRepetition: number;
  /** Seconds of each timed repetition. */
  readonly seconds: readonly number[];
  /** Best repetition, counting bytes read plus bytes written, in GB/s (10^9 bytes). */
  readonly gbPerSecond: number;
  /** Median repetition, likewise. */
  readonly medianGbPerSecond: number;
}

/**
 * Copy one large storage buffer into another with a WGSL kernel and time it: warm-up copies
 * first (compilation and Dawn's lazy zeroing of new buffers land there), then `repetitions`
 * submissions, each waited for with `queue.onSubmittedWorkDone()`. Takes any `GPUDevice` (a
 * WebGpuBackend's `.device`); creates and destroys its own buffers.
 */
export async function measureCopyBandwidth(
  device: GPUDevice,
  opts: CopyBandwidthOptions = {},
): Promise<CopyBandwidth> {
  const repetitions = opts.repetitions ?? 5;
  const minSeconds = opts.minSeconds ?? 0.05;
  const wanted = opts.bytes ?? 2 ** 30;
  if (!Number.isInteger(repetitions) || repetitions < 1)
    throw new RangeError(`measureCopyBandwidth: repetitions must be a positive integer, got ${repetitions}`);
  if (!(wanted >= VEC_BYTES))
    throw new RangeError(`measureCopyBandwidth: bytes must be at least ${VEC_BYTES}, got ${wanted}`);
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const bytes = Math.floor(Math.min(wanted, limit) / VEC_BYTES) * VEC_BYTES;
  const groups = Math.min(
    device.limits.maxComputeWorkgroupsPerDimension,
    Math.ceil(bytes / VEC_BYTES / WORKGROUP),
  );

  const module = device.createShaderModule({ code: COPY_WGSL, label: 'copy-bandwidth' });
  const pipeline = await device.createComputePipelineAsync({
    layout: 'auto',
    compute: { module, entryPoint: 'main' },
    label: 'copy-bandwidth',
  });
  device.pushErrorScope('out-of-memory');
  const src = device.createBuffer({ size: bytes, usage: STORAGE, label: 'copy-bandwidth src' });
  const dst = device.createBuffer({ size: bytes, usage: STORAGE, label: 'copy-bandwidth dst' });
  const oom = await device.popErrorScope();
  try {
    if (oom) throw new Error(`measureCopyBandwidth: two ${bytes}-byte buffers: ${oom.message}`);
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: src } },
        { binding: 1, resource: { buffer: dst } },
      ],
    });
    const run = async (copies: number): Promise<number> => {
      const encoder = device.createCommandEncoder();
      // One pass per copy: passes are ordered, so the copies run one after another, not overlapped.
      for (let i = 0; i < copies; i++) {
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(groups);
        pass.end();
      }
      const t0 = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      return (performance.now() - t0) / 1000;
    };
    device.pushErrorScope('validation');
    await run(1);
    const one = await run(1);
    const invalid = await device.popErrorScope();
    if (invalid) throw new Error(`measureCopyBandwidth: ${invalid.message}`);
    // A single copy of a small buffer on a fast GPU is over in microseconds, below what the
    // submit-and-wait round trip lets a wall clock resolve: batch copies to reach minSeconds.
    const copies = Math.max(1, Math.min(256, Math.ceil(minSeconds / Math.max(one, 1e-6))));
    const seconds: number[] = [];
    for (let r = 0; r < repetitions; r++) seconds.push(await run(copies));
    const moved = 2 * bytes * copies;
    const rates = seconds.map((s) => moved / s / 1e9).sort((a, b) => a - b);
    return {
      bufferBytes: bytes,
      copiesPerRepetition: copies,
      seconds,
      gbPerSecond: rates.at(-1)!,
      medianGbPerSecond: rates[Math.floor(rates.length / 2)]!,
    };
  } finally {
    src.destroy();
    dst.destroy();
  }
}
