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

/**
 * Checks {@link Backend.matmul}'s inputs: `a` f32 `[M, K]`; `b` f32/f16/bf16 `[K, N]`, or `[N, K]`
 * with `transposeB` (the only way a quantized `b` is accepted). Throws a `DTypeError` or
 * `ShapeError` otherwise.
 */
export function validateMatmul(a: Tensor, b: Tensor, transposeB: boolean, residual?: Tensor) {
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
  if (residual) {
    live(op, residual);
    checkDType(residual, ['f32'], op);
    checkShape(residual, ['M', 'N'], `${op} residual`, d);
  }
  return {
    /** Rows of `a` and of the product. */
    M: d.M!,
    /** The contracted dimension: columns of `a`, and of `b` with `transposeB` (else its rows). */
    K: d.K!,
    /** Columns of the product. */
    N: d.N!,
  };
}

/**
 * Checks {@link Backend.matmulMany}'s inputs: at least one weight, each valid as matmul's transposed
 * `b`, and the norm's weight and eps as rmsnorm checks them.
 */
export function validateMatmulMany(a: Tensor, bs: readonly Tensor[], norm?: { weight: Tensor; eps: number }) {
  if (bs.length === 0) throw new ShapeError('matmulMany: no weights given; pass at least one');
  const dims = bs.map((b) => validateMatmul(a, b, true));
  if (norm) validateRmsnorm(a, norm.weight, norm.eps);
  return {
    /** Rows of `a` and of every product. */
    M: dims[0]!.M,
    /** The contracted dimension: columns of `a` and of every weight. */
    K: dims[0]!.K,
    /** Columns of each product: each weight's rows. */
    N: dims.map((d) => d.N),
  };
}

/** Checks {@link Backend.swiglu}'s inputs: as matmulMany's, and `gate` and `up` of one shape. */
export function validateSwiglu(a: Tensor, gate: Tensor, up: Tensor, norm?: { weight: Tensor; eps: number }) {
  const { M, K, N } = validateMatmulMany(a, [gate, up], norm);
  if (N[0] !== N[1]) {
    throw new ShapeError(
      `swiglu: ${gate.name} ${formatShape(gate.shape)} and ${up.name} ${formatShape(up.shape)} must have the same shape`,
    );
  }
  return {
    /** Rows of `a` and of the result. */
    M,
    /** The contracted dimension. */
    K,
    /** Columns of the result: the rows of `gate` and of `up`. */
    N: N[0]!,
  };
}

/**
 * Checks {@link Backend.scatterRowsMany}'s inputs: one source per destination (at least one pair),
 * each pair as {@link validateScatter} checks it, no destination twice and none read as a source.
 */
export function validateScatterMany(dsts: readonly Tensor[], rows: Tensor, srcs: readonly Tensor[]) {
  if (dsts.length === 0 || dsts.length !== srcs.length) {
    throw new ShapeError(
      `scatterRowsMany: ${dsts.length} destinations and ${srcs.length} sources; pass one source per destination (at least one)`,
    );
  }
  const stores = new Set(dsts.map((d) => d.storage));
  if (stores.size !== dsts.length || srcs.some((s) => stores.has(s.storage))) {
    throw new ShapeError(
      'scatterRowsMany: a tensor is written by two pairs, or written and read; scatter such pairs one at a time',
    );
  }
  return dsts.map((dst, i) => validateScatter(dst, rows, srcs[i]!));
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

/**
 * Checks `add`/`mul` inputs (`op` names which): `a` f32, `b` a float dtype of `a`'s shape or a vector
 * over `a`'s last dimension. Throws a `DTypeError` or `ShapeError` otherwise.
 */
export function validateBinary(
  op: string,
  a: Tensor,
  b: Tensor,
): {
  /** True when `b` is a vector over `a`'s last dimension (a bias), false when the shapes are equal. */
  broadcast: boolean;
} {
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

/**
 * Checks {@link Backend.rmsnorm}'s inputs: `x` f32 `[rows, D]`, `weight` a float `[D]`, `eps` a
 * positive finite number (else an `OptionError`).
 */
export function validateRmsnorm(x: Tensor, weight: Tensor, eps: number) {
  const op = 'rmsnorm';
  live(op, x, weight);
  checkDType(x, ['f32'], op);
  checkDType(weight, FLOAT, op);
  const d = checkShape(x, ['rows', 'D'], op);
  checkShape(weight, ['D'], op, d);
  if (!(eps > 0) || !Number.isFinite(eps))
    throw new OptionError(`rmsnorm: eps must be a positive number, got ${eps}`);
  return {
    /** Rows normalized: the product of every dimension of `x` but the last. */
    rows: d.rows!,
    /** The normalized (last) dimension, also `weight`'s length. */
    D: d.D!,
  };
}

/**
 * Checks {@link Backend.rope}'s inputs: `x` f32 `[n, heads, d]`, `positions` i32 `[n]`, `invFreq` f32
 * with at most d/2 frequencies.
 */
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
  return {
    /** Tokens (`x`'s first dimension, `positions`' length). */
    n: d.n!,
    /** Heads per token. */
    heads: d.heads!,
    /** Head dimension `d`. */
    dim: d.d!,
    /** Frequencies in `invFreq`: the first `2 · half` features rotate, `2 · half ≤ dim`. */
    half: d.half!,
  };
}

/** Checks that `a` and `b` are live f32 tensors of the same shape (the elementwise ops that allow no broadcast, e.g. `siluMul`). */
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

/**
 * Checks an op over the last dimension (`softmax`, `scale`, `reduceLast`, `narrow`): `x` live, f32,
 * rank ≥ 1. Throws a `ShapeError` for a scalar.
 */
export function validateLastDim(
  op: string,
  x: Tensor,
): {
  /** Rows: the product of every dimension but the last (0 when the last is 0). */
  rows: number;
  /** Length of the last dimension. */
  n: number;
} {
  live(op, x);
  checkDType(x, ['f32'], op);
  if (x.rank < 1) throw new ShapeError(`${op}: ${x.name} must have rank ≥ 1, got a scalar`);
  const n = x.shape[x.rank - 1]!;
  return { rows: n === 0 ? 0 : x.size / n, n };
}

/**
 * Checks {@link Backend.embedding}'s inputs: `table [vocab, D]` float or quantized, `ids` i32 `[n]`.
 * Id values are not range-checked here.
 */
export function validateEmbedding(table: Tensor, ids: Tensor) {
  const op = 'embedding';
  liveWeight(op, table);
  live(op, ids);
  checkDType(table, WEIGHT, op);
  checkDType(ids, ['i32'], op);
  const d = checkShape(table, ['vocab', 'D'], op);
  checkShape(ids, ['n'], op, d);
  return {
    /** Rows of the table. */
    vocab: d.vocab!,
    /** Features per row (the embedding width). */
    D: d.D!,
    /** Ids to look up (`ids.length`). */
    n: d.n!,
  };
}

function checkGroups(op: string, H: number, Hkv: number): number {
  if (Hkv === 0 || H % Hkv !== 0) {
    throw new ShapeError(`${op}: query heads (${H}) must be a positive multiple of KV heads (${Hkv})`);
  }
  return H / Hkv;
}

/**
 * Checks the inputs of {@link Backend.raggedAttention} (and, with `op`, {@link Backend.attentionMass}):
 * `q` f32 `[n, H, d]`; keys and values both f32 or both f16 `[rows, d]`; positions, offsets, lengths
 * and `qPositions` i32; H a positive multiple of Hkv. Segment bounds are checked separately
 * ({@link checkRaggedSegments}), where the offsets are readable.
 */
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
  return {
    /** Query tokens. */
    n: d.n!,
    /** Query heads. */
    H: d.H!,
    /** Head dimension. */
    d: d.d!,
    /** Rows of the ragged cache (all heads' segments, reserved rows included). */
    rows: d.rows!,
    /** KV heads (`offsets.length`). */
    Hkv: d.Hkv!,
    /** Query heads per KV head, `H / Hkv` (GQA group size). */
    G: checkGroups(op, d.H!, d.Hkv!),
  };
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

/**
 * Checks {@link Backend.attentionColumnSums}'s inputs: `q` f32 `[H, w, d]`, `k` f32 or f16
 * `[Hkv, L, d]`, 1 ≤ w ≤ L, H a positive multiple of Hkv.
 */
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
  return {
    /** Query heads. */
    H: d.H!,
    /** Window queries per head (1 ≤ w ≤ L). */
    w: d.w!,
    /** Head dimension. */
    d: d.d!,
    /** KV heads. */
    Hkv: d.Hkv!,
    /** Sequence length: keys per KV head. */
    L: d.L!,
    /** Query heads per KV head, `H / Hkv`. */
    G: checkGroups(op, d.H!, d.Hkv!),
  };
}

const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'mean', 'max'];

/** Throws an `OptionError` naming `op` unless `reduce` is `'sum'`, `'mean'` or `'max'`; narrows it to {@link ReduceOp}. */
export function validateReduceOp(op: string, reduce: string): asserts reduce is ReduceOp {
  if (!(REDUCE_OPS as readonly string[]).includes(reduce)) {
    throw new OptionError(
      `${op}: reduction must be one of ${REDUCE_OPS.join(', ')}, got ${JSON.stringify(reduce)}`,
    );
  }
}

/**
 * Checks {@link Backend.reduceGroups}'s inputs: `x` f32 `[R, n]`, a known reduction, and a group
 * size that divides R (else an `OptionError`).
 */
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
  return {
    /** Rows: groups are formed along them, `R` divisible by the group size. */
    R: d.R!,
    /** Length of each row. */
    n: d.n!,
  };
}

/** Checks {@link Backend.pool1d}'s inputs: `x` f32 `[R, n]`, an odd positive kernel and mode `'avg'` or `'max'` (else an `OptionError`). */
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
  return {
    /** Rows: each is pooled on its own. */
    R: d.R!,
    /** Length of each row. */
    n: d.n!,
  };
}

/** Checks {@link Backend.topk}'s inputs: `x` f32 `[R, n]` and an integer k in `[1, n]` (else an `OptionError`). */
export function validateTopk(x: Tensor, k: number) {
  const op = 'topk';
  live(op, x);
  checkDType(x, ['f32'], op);
  const d = checkShape(x, ['R', 'n'], op);
  if (!Number.isInteger(k) || k < 1 || k > d.n!) {
    throw new OptionError(`topk: k must be an integer in [1, ${d.n}] for rows of length ${d.n}, got ${k}`);
  }
  return {
    /** Rows: each gets its own top k. */
    R: d.R!,
    /** Length of each row. */
    n: d.n!,
  };
}

function rowsOf(
  op: string,
  t: Tensor,
): {
  /** Rows: the first dimension. */
  R: number;
  /** Elements per row: the product of the other dimensions (0 when there are no rows). */
  width: number;
} {
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

/**
 * Checks {@link Backend.gatherRows}'s inputs: `src` of rank ≥ 1 and any dense dtype, `rows` an i32
 * vector. Row values are checked by {@link checkRowIndices} where they are readable.
 */
export function validateGather(src: Tensor, rows: Tensor) {
  const op = 'gatherRows';
  live(op, src, rows);
  checkDType(rows, ['i32'], op);
  if (rows.rank !== 1)
    throw new ShapeError(`gatherRows: ${rows.name} must be a vector, got ${formatShape(rows.shape)}`);
  return {
    ...rowsOf(op, src),
    /** Rows gathered (`rows.length`, the result's first dimension). */
    n: rows.shape[0]!,
  };
}

/**
 * Checks {@link Backend.scatterRows}'s inputs: `rows` an i32 vector, `src` of `dst`'s dtype (or f32
 * for an f16/bf16 `dst`, rounded as it is written) and shape `[rows.length, ...dst.shape[1:]]`, and
 * not sharing `dst`'s storage.
 */
export function validateScatter(dst: Tensor, rows: Tensor, src: Tensor) {
  const op = 'scatterRows';
  live(op, dst, rows, src);
  checkDType(rows, ['i32'], op);
  const narrowing = src.dtype === 'f32' && (dst.dtype === 'f16' || dst.dtype === 'bf16');
  if (src.dtype !== dst.dtype && !narrowing) {
    throw new ShapeError(
      `scatterRows: ${src.name} is ${src.dtype}, ${dst.name} is ${dst.dtype}; src must have dst's dtype (or be f32 for an f16/bf16 dst): cast it first`,
    );
  }
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
  return {
    /** Rows of `dst`. */
    R: d.R,
    /** Elements per row, the same in `dst` and `src`. */
    width: d.width,
    /** Rows written (`rows.length`, `src`'s first dimension). */
    n: s.R,
  };
}

/**
 * Checks {@link Backend.narrow}'s inputs: `x` f32, and `[start, start + length)` whole numbers inside
 * its last dimension (else an `OptionError`).
 */
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
  return {
    /** Rows: the product of every dimension of `x` but the last. */
    rows,
    /** Length of `x`'s last dimension (the result's is `length`). */
    n,
  };
}

/** Checks {@link Backend.transpose01}'s input: a live rank-3 tensor of any dense dtype. */
export function validateTranspose01(x: Tensor) {
  const op = 'transpose01';
  live(op, x);
  const d = checkShape(x, ['a', 'b', 'c'], op);
  return {
    /** First dimension of `x` (the result's second). */
    a: d.a!,
    /** Second dimension of `x` (the result's first). */
    b: d.b!,
    /** Last dimension, unchanged. */
    c: d.c!,
  };
}

/**
 * Checks {@link Backend.cast}'s input: `x` a float tensor and `dtype` a float dtype; quantized
 * targets throw a `DTypeError`, any other pair an `OptionError`.
 */
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
