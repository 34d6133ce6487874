import { assertDTypeName, type DType, isFloatDType } from '../dtype/dtype.js';
import { isQuantDType, QUANT_DTYPES } from '../dtype/quant.js';
import { DTypeError, formatShape, IndexError, OptionError, ShapeError } from '../errors.js';
import { assertValidShape, type Shape } from '../tensor/shape.js';
import { checkDType, checkShape, type Tensor } from '../tensor/tensor.js';
import type { PoolMode, RaggedKV, ReduceOp } from './backend.js';

// Shared input checks: every backend calls these first, so a mistake fails the same way everywhere.

const FLOAT = ['f32', 'f16', 'bf16'] as const;
const WEIGHT: readonly DType[] = [...FLOAT, ...QUANT_DTYPES];

/**
 * Every op checks its inputs here: live, and not quantized. Quantized tensors are weights that
 * only matmul's transposed `b` and embedding's table read; those pass through {@link liveWeight}.
 */
function live(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    t.assertLive(op);
    if (isQuantDType(t.dtype)) {
      throw new DTypeError(
        `${op}: ${t.name} is ${t.dtype}, a quantized weight; quantized tensors are read only by matmul (as b, with transposeB) and embedding (as the table)`,
      );
    }
  }
}

function liveWeight(op: string, t: Tensor): void {
  t.assertLive(op);
}

export function validateMatmul(a: Tensor, b: Tensor, transposeB: boolean) {
  const op = 'matmul';
  live(op, a);
  liveWeight(op, b);
  checkDType(a, ['f32'], op);
  checkDType(b, WEIGHT, op);
  if (isQuantDType(b.dtype) && !transposeB) {
    throw new DTypeError(
      `matmul: ${b.name} is a ${b.dtype} weight [N, K] (rows of blocks along K); multiply with { transposeB: true }`,
    );
  }
  const d = checkShape(a, ['M', 'K'], op);
  checkShape(b, transposeB ? ['N', 'K'] : ['K', 'N'], op, d);
  return { M: d.M!, K: d.K!, N: d.N! };
}

/** `zeros` arguments: a known dense dtype (a quantized tensor of zeros is no weight) and a valid shape. */
export function validateZeros(shape: Shape, dtype: DType, name: string): void {
  assertDTypeName(dtype, `zeros ${name}`);
  if (isQuantDType(dtype)) {
    throw new DTypeError(
      `zeros ${name}: ${dtype} is a quantized weight format; upload its block bytes instead`,
    );
  }
  assertValidShape(shape, `zeros ${name}`);
}

export function validateBinary(op: string, a: Tensor, b: Tensor): { broadcast: boolean } {
  live(op, a, b);
  checkDType(a, ['f32'], op);
  checkDType(b, FLOAT, op);
  const same = a.shape.length === b.shape.length && a.shape.every((v, i) => v === b.shape[i]);
  if (same) return { broadcast: false };
  if (b.rank === 1 && a.rank >= 1 && b.shape[0] === a.shape[a.rank - 1]) return { broadcast: true };
  throw new ShapeError(
    `${op}: ${b.name} ${formatShape(b.shape)} must match ${a.name} ${formatShape(a.shape)} or be a vector of its last dimension`,
  );
}

export function validateRmsnorm(x: Tensor, weight: Tensor, eps: number) {
  const op = 'rmsnorm';
  live(op, x, weight);
  checkDType(x, ['f32'], op);
  checkDType(weight, FLOAT, op);
  const d = checkShape(x, ['rows', 'D'], op);
  checkShape(weight, ['D'], op, d);
  if (!(eps > 0) || !Number.isFinite(eps))
    throw new OptionError(`rmsnorm: eps must be a positive number, got ${eps}`);
  return { rows: d.rows!, D: d.D! };
}

export function validateRope(x: Tensor, positions: Tensor, invFreq: Tensor) {
  const op = 'rope';
  live(op, x, positions, invFreq);
  checkDType(x, ['f32'], op);
  checkDType(positions, ['i32'], op);
  checkDType(invFreq, ['f32'], op);
  const d = checkShape(x, ['n', 'heads', 'd'], op);
  checkShape(positions, ['n'], op, d);
  checkShape(invFreq, ['half'], op, d);
  if (2 * d.half! > d.d!) {
    throw new ShapeError(
      `rope: ${invFreq.name} has ${d.half} frequencies, more than half of head dim ${d.d}`,
    );
  }
  return { n: d.n!, heads: d.heads!, dim: d.d!, half: d.half! };
}

export function validateSameShape(op: string, a: Tensor, b: Tensor): void {
  live(op, a, b);
  checkDType(a, ['f32'], op);
  checkDType(b, ['f32'], op);
  if (a.shape.length !== b.shape.length || a.shape.some((v, i) => v !== b.shape[i])) {
    throw new ShapeError(
      `${op}: ${a.name} ${formatShape(a.shape)} and ${b.name} ${formatShape(b.shape)} differ`,
    );
  }
}

export function validateLastDim(op: string, x: Tensor): { rows: number; n: number } {
  live(op, x);
  checkDType(x, ['f32'], op);
  if (x.rank < 1) throw new ShapeError(`${op}: ${x.name} must have rank ≥ 1, got a scalar`);
  const n = x.shape[x.rank - 1]!;
  return { rows: n === 0 ? 0 : x.size / n, n };
}

export function validateEmbedding(table: Tensor, ids: Tensor) {
  const op = 'embedding';
  liveWeight(op, table);
  live(op, ids);
  checkDType(table, WEIGHT, op);
  checkDType(ids, ['i32'], op);
  const d = checkShape(table, ['vocab', 'D'], op);
  checkShape(ids, ['n'], op, d);
  return { vocab: d.vocab!, D: d.D!, n: d.n! };
}

function checkGroups(op: string, H: number, Hkv: number): number {
  if (Hkv === 0 || H % Hkv !== 0) {
    throw new ShapeError(`${op}: query heads (${H}) must be a positive multiple of KV heads (${Hkv})`);
  }
  return H / Hkv;
}

export function validateRaggedAttention(q: Tensor, kv: RaggedKV, qPositions: Tensor, op = 'raggedAttention') {
  live(op, q, kv.keys, kv.values, kv.positions, kv.offsets, kv.lengths, qPositions);
  checkDType(q, ['f32'], op);
  // The cache may store keys and values in f16 (both alike).
  checkDType(kv.keys, ['f32', 'f16'], op);
  checkDType(kv.values, [kv.keys.dtype], op);
  for (const t of [kv.positions, kv.offsets, kv.lengths, qPositions]) checkDType(t, ['i32'], op);
  const d = checkShape(q, ['n', 'H', 'd'], op);
  checkShape(kv.keys, ['rows', 'd'], op, d);
  checkShape(kv.values, ['rows', 'd'], op, d);
  checkShape(kv.positions, ['rows'], op, d);
  checkShape(kv.offsets, ['Hkv'], op, d);
  checkShape(kv.lengths, ['Hkv'], op, d);
  checkShape(qPositions, ['n'], op, d);
  return { n: d.n!, H: d.H!, d: d.d!, rows: d.rows!, Hkv: d.Hkv!, G: checkGroups(op, d.H!, d.Hkv!) };
}

/**
 * Each KV head's segment `[offsets[h], offsets[h] + lengths[h])` must lie inside the cache's rows
 * (checked when the offsets and lengths are readable on the host).
 */
export function checkRaggedSegments(
  op: string,
  offsets: ArrayLike<number>,
  lengths: ArrayLike<number>,
  rows: number,
): void {
  for (let h = 0; h < offsets.length; h++) {
    const o = offsets[h]!;
    const n = lengths[h]!;
    if (o < 0 || n < 0 || o + n > rows) {
      throw new ShapeError(
        `${op}: KV head ${h} spans rows [${o}, ${o + n}) outside the cache's ${rows} rows; offsets and lengths must describe segments inside the cache`,
      );
    }
  }
}

export function validateWindowScores(q: Tensor, k: Tensor) {
  const op = 'attentionColumnSums';
  live(op, q, k);
  checkDType(q, ['f32'], op);
  checkDType(k, ['f32', 'f16'], op);
  const d = checkShape(q, ['H', 'w', 'd'], op);
  checkShape(k, ['Hkv', 'L', 'd'], op, d);
  if (d.w! > d.L!)
    throw new ShapeError(`attentionColumnSums: window ${d.w} is longer than the sequence (${d.L})`);
  if (d.w! < 1) throw new ShapeError('attentionColumnSums: the window needs at least one query');
  return { H: d.H!, w: d.w!, d: d.d!, Hkv: d.Hkv!, L: d.L!, G: checkGroups(op, d.H!, d.Hkv!) };
}

const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'mean', 'max'];

export function validateReduceOp(op: string, reduce: string): asserts reduce is ReduceOp {
  if (!(REDUCE_OPS as readonly string[]).includes(reduce)) {
    throw new OptionError(
      `${op}: reduction must be one of ${REDUCE_OPS.join(', ')}, got ${JSON.stringify(reduce)}`,
    );
  }
}

export function validateReduceGroups(x: Tensor, groupSize: number, reduce: ReduceOp) {
  const op = 'reduceGroups';
  live(op, x);
  checkDType(x, ['f32'], op);
  validateReduceOp(op, reduce);
  const d = checkShape(x, ['R', 'n'], op);
  if (!Number.isInteger(groupSize) || groupSize < 1 || d.R! % groupSize !== 0) {
    throw new OptionError(
      `reduceGroups: group size must be a positive divisor of ${d.R} rows, got ${groupSize}`,
    );
  }
  return { R: d.R!, n: d.n! };
}

export function validatePool(x: Tensor, kernel: number, mode: PoolMode) {
  const op = 'pool1d';
  live(op, x);
  checkDType(x, ['f32'], op);
  if (!Number.isInteger(kernel) || kernel < 1 || kernel % 2 === 0) {
    throw new OptionError(`pool1d: kernel must be an odd positive integer, got ${kernel}`);
  }
  if (mode !== 'avg' && mode !== 'max') {
    throw new OptionError(`pool1d: mode must be 'avg' or 'max', got ${JSON.stringify(mode)}`);
  }
  const d = checkShape(x, ['R', 'n'], op);
  return { R: d.R!, n: d.n! };
}

export function validateTopk(x: Tensor, k: number) {
  const op = 'topk';
  live(op, x);
  checkDType(x, ['f32'], op);
  const d = checkShape(x, ['R', 'n'], op);
  if (!Number.isInteger(k) || k < 1 || k > d.n!) {
    throw new OptionError(`topk: k must be an integer in [1, ${d.n}] for rows of length ${d.n}, got ${k}`);
  }
  return { R: d.R!, n: d.n! };
}

function rowsOf(op: string, t: Tensor): { R: number; width: number } {
  if (t.rank < 1) throw new ShapeError(`${op}: ${t.name} must have rank ≥ 1, got a scalar`);
  const R = t.shape[0]!;
  return { R, width: R === 0 ? 0 : t.size / R };
}

/** Checks index values too: this reads `rows` on the host, which only the CPU backend may afford. */
export function checkRowIndices(op: string, rows: ArrayLike<number>, R: number, name: string): void {
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (r < 0 || r >= R) throw new IndexError(`${op}: ${name}[${i}] = ${r} is outside [0, ${R})`);
  }
}

export function validateGather(src: Tensor, rows: Tensor) {
  const op = 'gatherRows';
  live(op, src, rows);
  checkDType(rows, ['i32'], op);
  if (rows.rank !== 1)
    throw new ShapeError(`gatherRows: ${rows.name} must be a vector, got ${formatShape(rows.shape)}`);
  return { ...rowsOf(op, src), n: rows.shape[0]! };
}

export function validateScatter(dst: Tensor, rows: Tensor, src: Tensor) {
  const op = 'scatterRows';
  live(op, dst, rows, src);
  checkDType(rows, ['i32'], op);
  if (src.dtype !== dst.dtype)
    throw new ShapeError(`scatterRows: ${src.name} is ${src.dtype}, ${dst.name} is ${dst.dtype}`);
  if (rows.rank !== 1)
    throw new ShapeError(`scatterRows: ${rows.name} must be a vector, got ${formatShape(rows.shape)}`);
  // GPU backends cannot bind one buffer for reading and writing in one dispatch; all backends refuse.
  if (src.storage === dst.storage) {
    throw new ShapeError(
      `scatterRows: ${src.name} and ${dst.name} share storage; scatter from a copy (gatherRows) instead`,
    );
  }
  const d = rowsOf(op, dst);
  const s = rowsOf(op, src);
  if (
    s.R !== rows.shape[0] ||
    s.width !== d.width ||
    src.rank !== dst.rank ||
    src.shape.slice(1).some((v, i) => v !== dst.shape[i + 1])
  ) {
    throw new ShapeError(
      `scatterRows: ${src.name} ${formatShape(src.shape)} must be [${rows.shape[0]}, ${dst.shape.slice(1).join(', ')}] to fit ${dst.name} ${formatShape(dst.shape)}`,
    );
  }
  return { R: d.R, width: d.width, n: s.R };
}

export function validateNarrow(x: Tensor, start: number, length: number) {
  const op = 'narrow';
  const { rows, n } = validateLastDim(op, x);
  if (
    !Number.isInteger(start) ||
    !Number.isInteger(length) ||
    start < 0 ||
    length < 0 ||
    start + length > n
  ) {
    throw new OptionError(
      `narrow: [${start}, ${start + length}) is not inside the last dimension of ${x.name} (${n})`,
    );
  }
  return { rows, n };
}

export function validateTranspose01(x: Tensor) {
  const op = 'transpose01';
  live(op, x);
  const d = checkShape(x, ['a', 'b', 'c'], op);
  return { a: d.a!, b: d.b!, c: d.c! };
}

export function validateCast(x: Tensor, dtype: string): void {
  live('cast', x);
  if (isQuantDType(dtype)) {
    throw new DTypeError(
      `cast: ${x.name} cannot become ${dtype}; quantized weights are uploaded as block bytes`,
    );
  }
  if (!isFloatDType(x.dtype) || !(FLOAT as readonly string[]).includes(dtype)) {
    throw new OptionError(`cast: only float dtypes convert (${FLOAT.join(', ')}); got ${x.dtype} → ${dtype}`);
  }
}
