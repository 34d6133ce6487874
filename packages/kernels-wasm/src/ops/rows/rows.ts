import { bytesPerElement, validate as check, type Tensor } from '@kvsieve/core';
import type { OpEnv } from '../../env.js';
import { F32 } from '../../wasm/types.js';

// Data movement: byte copies inside the module's memory (copyWithin), for every dense dtype.

/** Rows `rows i32 [n]` of `src [R, ...]`, range-checked first. */
export function gatherRowsWasm(
  env: OpEnv,
  src: Tensor,
  rows: Tensor,
  dims: { R: number; width: number; n: number },
): Tensor {
  const { R, width, n } = dims;
  const idxPtr = env.ptr(rows, 'gatherRows');
  check.checkRowIndices('gatherRows', env.views.i32(idxPtr, n), R, rows.name);
  const out = env.out([n, ...src.shape.slice(1)], src.dtype, 'gatherRows');
  const bytes = width * bytesPerElement(src.dtype);
  const from = env.ptr(src, 'gatherRows');
  const idx = env.views.i32(idxPtr, n);
  const mem = env.views.u8();
  for (let i = 0; i < n; i++) {
    const at = from + idx[i]! * bytes;
    mem.copyWithin(out.storage.ptr + i * bytes, at, at + bytes);
  }
  return out;
}

/** In place: row i of `src [n, ...]` to row `rows[i]` of `dst [R, ...]`, range-checked first. */
export function scatterRowsWasm(
  env: OpEnv,
  dst: Tensor,
  rows: Tensor,
  src: Tensor,
  dims: { R: number; width: number; n: number },
): void {
  const { R, width, n } = dims;
  const idx = env.views.i32(env.ptr(rows, 'scatterRows'), n);
  check.checkRowIndices('scatterRows', idx, R, rows.name);
  const bytes = width * bytesPerElement(dst.dtype);
  const to = env.ptr(dst, 'scatterRows');
  const from = env.ptr(src, 'scatterRows');
  if (src.dtype !== dst.dtype) {
    // f32 rows into an f16/bf16 dst: cast's kernel writes each row straight into its place, so the
    // bits are cast-then-scatter's, with no temporary.
    const type = env.type(dst, 'scatterRows');
    for (let i = 0; i < n; i++)
      env.run('kv_cast', [from + i * width * 4, F32, to + idx[i]! * bytes, type], width);
    return;
  }
  const mem = env.views.u8();
  for (let i = 0; i < n; i++) mem.copyWithin(to + idx[i]! * bytes, from + i * bytes, from + (i + 1) * bytes);
}

/** `[start, start + length)` of the last dimension of f32 `x`. */
export function narrowWasm(
  env: OpEnv,
  x: Tensor,
  start: number,
  length: number,
  rows: number,
  n: number,
): Tensor {
  const out = env.out([...x.shape.slice(0, -1), length], 'f32', 'narrow');
  const from = env.ptr(x, 'narrow');
  const mem = env.views.u8();
  for (let r = 0; r < rows; r++) {
    const at = from + 4 * (r * n + start);
    mem.copyWithin(out.storage.ptr + 4 * r * length, at, at + 4 * length);
  }
  return out;
}

/** `[a, b, c] → [b, a, c]`, any dense dtype. */
export function transpose01Wasm(env: OpEnv, x: Tensor, dims: { a: number; b: number; c: number }): Tensor {
  const { a, b, c } = dims;
  const out = env.out([b, a, c], x.dtype, 'transpose01');
  const bytes = c * bytesPerElement(x.dtype);
  const from = env.ptr(x, 'transpose01');
  const mem = env.views.u8();
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) {
      const at = from + (i * b + j) * bytes;
      mem.copyWithin(out.storage.ptr + (j * a + i) * bytes, at, at + bytes);
    }
  }
  return out;
}
