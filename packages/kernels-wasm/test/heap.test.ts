import { rng } from '@kvsieve/backend-conformance';
import { describe, expect, it } from 'vitest';
import { WasmMemoryError } from '../src/index.js';
import { ALIGN, Allocator } from '../src/wasm/heap.js';
import { PAGE_BYTES } from '../src/wasm/instance.js';

// The allocator on small memories (a few pages), so that growth and the limit are reached quickly.
function allocator(initial: number, maxPages: number, heapBase = 100) {
  const memory = new WebAssembly.Memory({ initial, maximum: maxPages });
  return { memory, heap: new Allocator(memory, heapBase, maxPages) };
}

describe('allocator', () => {
  it('hands out 16-byte aligned, disjoint blocks above __heap_base; zero bytes reserve nothing', () => {
    const { heap } = allocator(1, 4, 100);
    const sizes = [1, 15, 16, 17, 100, 3];
    const blocks = sizes.map((n) => ({ ptr: heap.alloc(n, 't'), n }));
    for (const b of blocks) {
      expect(b.ptr % ALIGN).toBe(0);
      expect(b.ptr).toBeGreaterThanOrEqual(112);
    }
    const sorted = [...blocks].sort((a, b) => a.ptr - b.ptr);
    for (let i = 1; i < sorted.length; i++) {
      expect(sorted[i]!.ptr).toBeGreaterThanOrEqual(sorted[i - 1]!.ptr + sorted[i - 1]!.n);
    }
    expect(heap.reservedBytes()).toBe(16 + 16 + 16 + 32 + 112 + 16);
    expect(heap.alloc(0, 'empty')).toBe(0);
    heap.free(0);
    expect(heap.reservedBytes()).toBe(208);
  });

  it('coalesces freed neighbours back into one block, in any free order', () => {
    const { heap } = allocator(2, 2);
    const r = rng(5);
    for (let round = 0; round < 20; round++) {
      const ptrs = Array.from({ length: 40 }, () => heap.alloc(r.int(1, 3000), 't'));
      // Free in a random order: every block must merge back with whatever is already free.
      for (let i = ptrs.length - 1; i > 0; i--) {
        const j = r.int(0, i + 1);
        [ptrs[i], ptrs[j]] = [ptrs[j]!, ptrs[i]!];
      }
      for (const p of ptrs) heap.free(p);
      expect(heap.freeBlockCount()).toBe(1);
      expect(heap.reservedBytes()).toBe(0);
    }
  });

  it('reuses the best-fitting hole before growing', () => {
    const { heap, memory } = allocator(1, 4);
    const a = heap.alloc(1000, 'a');
    const b = heap.alloc(64, 'b');
    const c = heap.alloc(5000, 'c');
    heap.alloc(64, 'd');
    heap.free(a);
    heap.free(c);
    const pages = memory.buffer.byteLength;
    expect(heap.alloc(4000, 'e')).toBe(c); // fits both holes; the 5000-byte one is tighter than the tail
    expect(heap.alloc(900, 'f')).toBe(a);
    expect(memory.buffer.byteLength).toBe(pages);
    heap.free(b);
  });

  it('grows the memory when nothing fits, keeping what is stored', () => {
    const { heap, memory } = allocator(1, 8);
    const small = heap.alloc(64, 'small');
    new Uint8Array(memory.buffer, small, 64).fill(7);
    const big = heap.alloc(3 * PAGE_BYTES, 'big');
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(4 * PAGE_BYTES);
    expect(big + 3 * PAGE_BYTES).toBeLessThanOrEqual(memory.buffer.byteLength);
    expect(Array.from(new Uint8Array(memory.buffer, small, 64))).toEqual(new Array(64).fill(7));
    heap.free(big);
    heap.free(small);
    expect(heap.freeBlockCount()).toBe(1);
  });

  it('past the memory limit, throws WasmMemoryError naming the request, the use and what to do', () => {
    const { heap } = allocator(1, 3);
    const held = heap.alloc(2 * PAGE_BYTES, 'weights');
    const ask = () => heap.alloc(PAGE_BYTES + 1, 'matmul');
    expect(ask).toThrow(WasmMemoryError);
    expect(ask).toThrow(/^matmul: 65537 bytes do not fit in the wasm backend's memory/);
    expect(ask).toThrow(/32-bit addresses limit to 196608 bytes/);
    expect(ask).toThrow(/131072 bytes are in use/);
    expect(ask).toThrow(/Dispose tensors you no longer need/);
    // A failed request changes nothing: the rest of the memory is still there.
    expect(heap.reservedBytes()).toBe(2 * PAGE_BYTES);
    const rest = heap.alloc(PAGE_BYTES - 112, 'rest');
    expect(rest).toBeGreaterThan(held);
  });

  it('refuses to free what it did not hand out', () => {
    const { heap } = allocator(1, 1);
    const p = heap.alloc(32, 't');
    heap.free(p);
    expect(() => heap.free(p)).toThrow(/is not an allocated block/);
  });
});
