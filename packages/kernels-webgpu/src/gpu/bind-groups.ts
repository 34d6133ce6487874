import type { Binding } from './binding.js';
import type { GpuCounters } from './counters.js';
import type { UniformSlot } from './uniforms.js';

const MAX_ENTRIES = 8192;

/** One level of the lookup: a number (a buffer id, a size, a uniform slot) to the next level or the group. */
type Level = Map<number, unknown>;

/** The size a binding covers: sizes that round to the same word count bind the same range. */
function boundSize(size: number): number {
  return Math.max(4, Math.ceil(size / 4) * 4);
}

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
  // Per layout, then per binding its buffer's id and its size, then the uniform slot: maps keyed by
  // numbers, because a string key built per dispatch cost microseconds (most of a lookup).
  private readonly roots = new Map<GPUBindGroupLayout, Level>();
  private size = 0;

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

  /**
   * The bind group of the first `count` of `buffers` (storage, in declaration order) then the
   * uniform slot `u`.
   */
  get(layout: GPUBindGroupLayout, buffers: readonly Binding[], count: number, u: UniformSlot): GPUBindGroup {
    let level = this.roots.get(layout);
    if (!level) {
      level = new Map();
      this.roots.set(layout, level);
    }
    for (let i = 0; i < count; i++) {
      const b = buffers[i]!;
      level = child(child(level, this.idOf(b.buffer)), boundSize(b.size));
    }
    level = child(level, u.chunk);
    const g = level.get(u.offset) as GPUBindGroup | undefined;
    if (g) return g;
    if (this.size >= MAX_ENTRIES) {
      // The levels walked above belong to the tree being dropped: walk a fresh one.
      this.clear();
      return this.get(layout, buffers, count, u);
    }
    const entries: GPUBindGroupEntry[] = [];
    for (let i = 0; i < count; i++) {
      const b = buffers[i]!;
      entries.push({ binding: i, resource: { buffer: b.buffer, offset: 0, size: boundSize(b.size) } });
    }
    entries.push({ binding: count, resource: { buffer: u.buffer, offset: u.offset, size: u.size } });
    const created = this.device.createBindGroup({ layout, entries });
    this.counters.bindGroupsCreated++;
    level.set(u.offset, created);
    this.size++;
    return created;
  }

  clear(): void {
    this.roots.clear();
    this.size = 0;
  }
}

/** The level under `key` in `level`, made if missing. */
function child(level: Level, key: number): Level {
  let next = level.get(key) as Level | undefined;
  if (!next) {
    next = new Map();
    level.set(key, next);
  }
  return next;
}
