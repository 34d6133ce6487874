import type { GpuCounters } from './counters.js';
import type { Params } from './program.js';

const CHUNK_BYTES = 64 * 1024;
const UNIFORM_USAGE = 64 | 8; // UNIFORM | COPY_DST

/** Where one dispatch's uniform block lives. */
export interface UniformSlot {
  readonly buffer: GPUBuffer;
  /** Index of the chunk, for bind-group cache keys. */
  readonly chunk: number;
  readonly offset: number;
  readonly size: number;
}

/**
 * Every dispatch's uniform block in a few persistent 64 KiB buffers, written with one
 * `writeBuffer` per chunk when the batch is submitted. A uniform buffer per dispatch written at
 * once would cost a pooled buffer and a queue write each, and would be overwritten by the next
 * dispatch of the same batch before the batch ran. Reusing the chunks for the next batch is safe:
 * a queue write is ordered after the submissions issued before it.
 */
export class UniformArena {
  private readonly chunks: { buffer: GPUBuffer; host: Uint8Array; view: DataView }[] = [];
  private chunk = 0;
  private used = 0;
  private readonly align: number;

  constructor(
    private readonly device: GPUDevice,
    private readonly counters: GpuCounters,
  ) {
    this.align = device.limits.minUniformBufferOffsetAlignment;
  }

  /** A slot holding the block `params` packs from `values`, valid until {@link upload} ends the batch. */
  slot<F extends string>(params: Params<F>, values: Readonly<Record<F, number>>): UniformSlot {
    const size = params.bytes;
    if (size > CHUNK_BYTES) throw new Error(`a uniform block of ${size} bytes is larger than a chunk`);
    if (this.used + size > CHUNK_BYTES) {
      this.chunk++;
      this.used = 0;
    }
    const c = this.chunkAt(this.chunk);
    const offset = this.used;
    params.packInto(c.view, offset, values);
    this.used = Math.ceil((offset + size) / this.align) * this.align;
    return { buffer: c.buffer, chunk: this.chunk, offset, size };
  }

  /** Write the slots handed out since the last call; the next batch starts at chunk 0 again. */
  upload(): void {
    for (let i = 0; i <= this.chunk && i < this.chunks.length; i++) {
      const bytes = i < this.chunk ? CHUNK_BYTES : this.used;
      if (bytes === 0) continue;
      this.device.queue.writeBuffer(this.chunks[i]!.buffer, 0, this.chunks[i]!.host, 0, bytes);
      this.counters.bytesWritten += bytes;
    }
    this.chunk = 0;
    this.used = 0;
  }

  private chunkAt(i: number): { buffer: GPUBuffer; host: Uint8Array; view: DataView } {
    let c = this.chunks[i];
    if (!c) {
      const host = new Uint8Array(CHUNK_BYTES);
      c = {
        buffer: this.device.createBuffer({ size: CHUNK_BYTES, usage: UNIFORM_USAGE, label: `uniforms ${i}` }),
        host,
        view: new DataView(host.buffer),
      };
      this.counters.buffersCreated++;
      this.chunks.push(c);
    }
    return c;
  }

  destroy(): void {
    for (const c of this.chunks.splice(0)) c.buffer.destroy();
  }
}
