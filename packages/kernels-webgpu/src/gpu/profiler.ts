const MAP_READ = 1;
const COPY_SRC = 4;
const COPY_DST = 8;
const QUERY_RESOLVE = 512;

/** GPU time per kernel name, summed over the dispatches timed. */
export interface KernelTime {
  /** The kernel's name (`gemvT`, `attention`, `topk:select`, …), without its variant. */
  readonly kernel: string;
  /** Dispatches of it that were timed. */
  readonly dispatches: number;
  /** Their GPU time in milliseconds, from each pass's begin and end timestamps. */
  readonly ms: number;
}

/**
 * Per-kernel GPU time from `timestamp-query`: while it is on, every dispatch gets a compute pass of
 * its own with a begin and an end timestamp (separate passes cost a little, so it is off unless
 * `--profile` asks). The timestamps are resolved into the batch's own command buffer and mapped
 * after it is submitted, so timing adds no submissions.
 */
export class KernelTimer {
  readonly capacity: number;
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer;
  private readonly spare: GPUBuffer[] = [];
  private names: string[] = [];
  private readonly totals = new Map<string, { n: number; ns: number }>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly device: GPUDevice,
    // 2 × 2048 queries: the most a query set may hold on common adapters (lavapipe's limit).
    capacity = 2048,
  ) {
    this.capacity = capacity;
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * capacity });
    this.resolveBuf = device.createBuffer({ size: 16 * capacity, usage: QUERY_RESOLVE | COPY_SRC });
  }

  /** Room for fewer dispatches than one op may record: the batch should be submitted. */
  get nearlyFull(): boolean {
    return this.names.length >= this.capacity - 512;
  }

  get full(): boolean {
    return this.names.length >= this.capacity;
  }

  /**
   * The timestamp writes for the next dispatch's pass, named `kernel`. None once the set is full:
   * batches are submitted when it is nearly full, so only an op recording over 512 dispatches at
   * once could get there.
   */
  next(kernel: string): GPUComputePassTimestampWrites | undefined {
    if (this.full) return undefined;
    const i = this.names.length;
    this.names.push(kernel);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Record the resolve into `enc` (outside any pass); returns what to call after the submit. */
  encodeResolve(enc: GPUCommandEncoder): (() => void) | null {
    const names = this.names;
    if (names.length === 0) return null;
    this.names = [];
    const bytes = 16 * names.length;
    const staging =
      this.spare.pop() ?? this.device.createBuffer({ size: 16 * this.capacity, usage: MAP_READ | COPY_DST });
    enc.resolveQuerySet(this.querySet, 0, 2 * names.length, this.resolveBuf, 0);
    enc.copyBufferToBuffer(this.resolveBuf, 0, staging, 0, bytes);
    return () => {
      const p = staging.mapAsync(MAP_READ, 0, bytes).then(
        () => {
          const t = new BigUint64Array(staging.getMappedRange(0, bytes));
          names.forEach((name, i) => {
            const begin = t[2 * i]!;
            const end = t[2 * i + 1]!;
            const s = this.totals.get(name) ?? { n: 0, ns: 0 };
            s.n++;
            s.ns += end > begin ? Number(end - begin) : 0;
            this.totals.set(name, s);
          });
          staging.unmap();
          this.spare.push(staging);
        },
        () => staging.destroy(),
      );
      this.pending.add(p);
      p.finally(() => this.pending.delete(p));
    };
  }

  /** The times gathered so far (after the device finished what was submitted), slowest first. */
  async report(): Promise<KernelTime[]> {
    await Promise.all([...this.pending]);
    return [...this.totals]
      .map(([kernel, s]) => ({ kernel, dispatches: s.n, ms: s.ns / 1e6 }))
      .sort((a, b) => b.ms - a.ms);
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuf.destroy();
    for (const b of this.spare.splice(0)) b.destroy();
  }
}
