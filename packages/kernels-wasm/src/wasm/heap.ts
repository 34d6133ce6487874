import { WasmMemoryError } from '../errors.js';
import { MAX_PAGES, PAGE_BYTES } from './instance.js';
import type { MemoryLike } from './kernels.js';

/** Every block starts on a 16-byte boundary: v128 loads of any tensor are aligned, and so is i32 data. */
export const ALIGN = 16;

interface Block {
  ptr: number;
  size: number;
}

function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${n} bytes`;
}

/**
 * The allocator of the module's memory, above `__heap_base`: a free list kept sorted by address,
 * best fit, neighbours coalesced on free. When nothing fits it grows the memory (by at least an
 * eighth, to keep grows rare) up to `maxPages`; past that it throws {@link WasmMemoryError}. Freed
 * memory is reused but never returned (a WebAssembly memory cannot shrink).
 */
export class Allocator {
  /** Free blocks, sorted by address, never adjacent (adjacent ones are merged). */
  private readonly blocks: Block[] = [];
  private readonly used = new Map<number, number>();
  private usedBytes = 0;
  private readonly base: number;

  constructor(
    private readonly memory: MemoryLike,
    heapBase: number,
    private readonly maxPages = MAX_PAGES,
  ) {
    this.base = Math.ceil(heapBase / ALIGN) * ALIGN;
    const end = this.end();
    if (end > this.base) this.blocks.push({ ptr: this.base, size: end - this.base });
  }

  private end(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes reserved by live allocations (rounded up to {@link ALIGN} each). */
  reservedBytes(): number {
    return this.usedBytes;
  }

  /** Bytes of free blocks (inside the memory's current size). */
  freeBytes(): number {
    let n = 0;
    for (const b of this.blocks) n += b.size;
    return n;
  }

  /** Number of free blocks: 1 (or 0) when everything freed has been merged back. */
  freeBlockCount(): number {
    return this.blocks.length;
  }

  /**
   * `bytes` of memory aligned to 16 (uninitialized). Zero bytes reserve nothing and return 0, an
   * address no kernel reads for an empty tensor. `what` names the tensor or op in errors.
   */
  alloc(bytes: number, what: string): number {
    if (bytes === 0) return 0;
    const size = Math.ceil(bytes / ALIGN) * ALIGN;
    let at = this.bestFit(size);
    if (at < 0) {
      this.grow(size, bytes, what);
      at = this.bestFit(size);
    }
    const block = this.blocks[at]!;
    const ptr = block.ptr;
    if (block.size === size) {
      this.blocks.splice(at, 1);
    } else {
      block.ptr += size;
      block.size -= size;
    }
    this.used.set(ptr, size);
    this.usedBytes += size;
    return ptr;
  }

  free(ptr: number): void {
    if (ptr === 0) return;
    const size = this.used.get(ptr);
    if (size === undefined) throw new Error(`kernels-wasm allocator: ${ptr} is not an allocated block`);
    this.used.delete(ptr);
    this.usedBytes -= size;
    // First free block after ptr (binary search), then merge with the neighbours it touches.
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.blocks[mid]!.ptr < ptr) lo = mid + 1;
      else hi = mid;
    }
    const prev = this.blocks[lo - 1];
    const next = this.blocks[lo];
    const touchesPrev = prev !== undefined && prev.ptr + prev.size === ptr;
    const touchesNext = next !== undefined && ptr + size === next.ptr;
    if (touchesPrev && touchesNext) {
      prev.size += size + next.size;
      this.blocks.splice(lo, 1);
    } else if (touchesPrev) {
      prev.size += size;
    } else if (touchesNext) {
      next.ptr = ptr;
      next.size += size;
    } else {
      this.blocks.splice(lo, 0, { ptr, size });
    }
  }

  private bestFit(size: number): number {
    let best = -1;
    for (let i = 0; i < this.blocks.length; i++) {
      const s = this.blocks[i]!.size;
      if (s >= size && (best < 0 || s < this.blocks[best]!.size)) {
        best = i;
        if (s === size) break;
      }
    }
    return best;
  }

  /** Grows the memory so that the last free block holds `size` bytes. */
  private grow(size: number, bytes: number, what: string): void {
    const end = this.end();
    const last = this.blocks[this.blocks.length - 1];
    const tail = last && last.ptr + last.size === end ? last.size : 0;
    const pages = end / PAGE_BYTES;
    const need = Math.ceil((size - tail) / PAGE_BYTES);
    const room = this.maxPages - pages;
    if (need > room) {
      throw new WasmMemoryError(
        `${what}: ${formatBytes(bytes)} do not fit in the wasm backend's memory, which WebAssembly's 32-bit ` +
          `addresses limit to ${formatBytes(this.maxPages * PAGE_BYTES)}; ${formatBytes(this.usedBytes)} are in use ` +
          `and the largest free block is ${formatBytes(Math.max(0, ...this.blocks.map((b) => b.size)))}. ` +
          'Dispose tensors you no longer need, prefill in shorter chunks, use a quantized or 16-bit model, ' +
          'or use the webgpu or cpu backend.',
      );
    }
    const eager = Math.min(room, Math.max(need, Math.ceil(pages / 8)));
    try {
      this.memory.grow(eager);
    } catch {
      try {
        this.memory.grow(need);
      } catch (e) {
        throw new WasmMemoryError(
          `${what}: the engine refused to grow the wasm backend's memory from ${formatBytes(end)} by ${formatBytes(need * PAGE_BYTES)} ` +
            `(${(e as Error).message}); free memory on this machine or dispose tensors you no longer need`,
        );
      }
    }
    const added = this.end() - end;
    if (tail > 0) last!.size += added;
    else this.blocks.push({ ptr: end, size: added });
  }
}
