/**
 * What the backend has asked of the device since it was created: the figures `kvsieve run
 * --profile` divides by the tokens decoded. Counting happens where the calls are made (the
 * context, the batch, the upload path), so a new call site cannot be left out by accident.
 */
export interface GpuCounters {
  /** `queue.submit` calls (one per flushed batch). */
  submissions: number;
  /** Compute dispatches encoded. */
  dispatches: number;
  /** Bytes handed to `queue.writeBuffer` (uploads and uniform blocks). */
  bytesWritten: number;
  /** Bytes copied back to the host by reads. */
  bytesRead: number;
  /** Host reads (each waits for the device). */
  readbacks: number;
  /** `createBuffer` calls (storage, uniform and read-back staging buffers). */
  buffersCreated: number;
  /** `createBindGroup` calls (the rest were served from the bind-group cache). */
  bindGroupsCreated: number;
  /** Pipelines compiled. */
  pipelinesCreated: number;
}

export function zeroCounters(): GpuCounters {
  return {
    submissions: 0,
    dispatches: 0,
    bytesWritten: 0,
    bytesRead: 0,
    readbacks: 0,
    buffersCreated: 0,
    bindGroupsCreated: 0,
    pipelinesCreated: 0,
  };
}

/** `later - earlier`, field by field: the counts of what happened in between. */
export function diffCounters(later: GpuCounters, earlier: GpuCounters): GpuCounters {
  const out = zeroCounters();
  for (const k of Object.keys(out) as (keyof GpuCounters)[]) out[k] = later[k] - earlier[k];
  return out;
}
