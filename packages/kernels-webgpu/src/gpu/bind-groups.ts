import type { Binding } from './binding.js';
import type { GpuCounters } from './counters.js';
import type { UniformSlot } from './uniforms.js';

const MAX_ENTRIES = 8192;

/**
 * Bind groups by what they bind. A decode step dispatches the same kernels over the same pooled
 * buffers and uniform slots every token, so after the first tokens every lookup hits and no bind
 * group is created per token. Buffers are named by an id given on first sight: a destroyed
 * buffer's id is never given again, so a stale entry can only be unused, and the cache is emptied
 * when it grows past its cap.
 */
export class BindGroupCache {
  private readonly ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  private readonly groups = new Map<string, GPUBindGroup>();

  constructor(
    private readonly device: GPUDevice,
    private readonly counters: GpuCounters,
  ) {}

  /** A stable number for `b`, never reused. */
  idOf(b: GPUBuffer): number {
    let id = this.ids.get(b);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(b, id);
    }
    return id;
  }

  /** The bind group of `buffers` (storage, in declaration order) then the uniform slot `u`. */
  get(
    layoutKey: string,
    layout: GPUBindGroupLayout,
    buffers: readonly Binding[],
    u: UniformSlot,
  ): GPUBindGroup {
    let key = layoutKey;
    for (const b of buffers) key += `|${this.idOf(b.buffer)}:${b.size}`;
    key += `|u${u.chunk}:${u.offset}`;
    let g = this.groups.get(key);
    if (!g) {
      if (this.groups.size >= MAX_ENTRIES) this.groups.clear();
      const entries: GPUBindGroupEntry[] = buffers.map((b, i) => ({
        binding: i,
        resource: { buffer: b.buffer, offset: 0, size: Math.max(4, Math.ceil(b.size / 4) * 4) },
      }));
      entries.push({
        binding: buffers.length,
        resource: { buffer: u.buffer, offset: u.offset, size: u.size },
      });
      g = this.device.createBindGroup({ layout, entries });
      this.counters.bindGroupsCreated++;
      this.groups.set(key, g);
    }
    return g;
  }

  clear(): void {
    this.groups.clear();
  }
}
