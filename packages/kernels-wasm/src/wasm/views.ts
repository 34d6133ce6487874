import type { MemoryLike } from './kernels.js';

/**
 * Typed-array views of the module's memory, renewed when it grows: growing detaches a plain
 * memory's buffer, and a shared memory hands out a new, longer SharedArrayBuffer. Views returned
 * here are valid until the next allocation (which may grow the memory).
 */
export class MemoryViews {
  private buffer: ArrayBufferLike | undefined;
  private bytes: Uint8Array = new Uint8Array(0);

  constructor(private readonly memory: MemoryLike) {}

  /** All of memory, as bytes. */
  u8(): Uint8Array {
    const buffer = this.memory.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.bytes = new Uint8Array(buffer);
    }
    return this.bytes;
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.u8().buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.u8().buffer, ptr, length);
  }

  u32(ptr: number, length: number): Uint32Array {
    return new Uint32Array(this.u8().buffer, ptr, length);
  }

  u16(ptr: number, length: number): Uint16Array {
    return new Uint16Array(this.u8().buffer, ptr, length);
  }
}
