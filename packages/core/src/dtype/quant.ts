import { DTypeError, formatShape, ShapeError } from '../errors.js';

/**
 * ggml's block-quantized weight formats, stored as their raw block bytes (little-endian, exactly as
 * in a GGUF file). A tensor of one of these is a weight `[rows, cols]` with `cols` a multiple of the
 * block size; it is read by `matmul` (as `b` with `transposeB`) and `embedding` (as the table) and by
 * nothing else.
 */
export type QuantDType =
  | 'q4_0'
  | 'q4_1'
  | 'q5_0'
  | 'q5_1'
  | 'q8_0'
  | 'q2_k'
  | 'q3_k'
  | 'q4_k'
  | 'q5_k'
  | 'q6_k'
  | 'iq4_nl'
  | 'iq4_xs';

/** How one ggml quantized format stores its blocks, as read from GGUF files; see {@link QUANT_LAYOUTS}. */
export interface QuantLayout {
  /** The kvsieve dtype name (lower case, e.g. `'q4_k'`). */
  readonly dtype: QuantDType;
  /** ggml's name (GGUF files, llama.cpp messages). */
  readonly ggmlName: string;
  /** ggml's type id (`enum ggml_type`). */
  readonly ggmlType: number;
  /** Elements per block, along a row. */
  readonly blockSize: number;
  /** Bytes per block of {@link QuantLayout.blockSize} elements. */
  readonly blockBytes: number;
  /**
   * Byte offsets inside a block of its f16 fields (the scale d, and the min m or dmin where the
   * format has one). They are the only floating-point fields: every other bit pattern of a block is
   * a valid weight, so a NaN or ±Infinity can only come from these.
   */
  readonly halfFields: readonly {
    /** Byte offset of the f16 field from the start of its block. */
    readonly offset: number;
    /** `'scale'` (the d field) or `'min'` (the m or dmin field). */
    readonly name: string;
  }[];
}

const D0 = [{ offset: 0, name: 'scale' }] as const;
const D0M2 = [
  { offset: 0, name: 'scale' },
  { offset: 2, name: 'min' },
] as const;

/** Block layouts from ggml-common.h (`block_q4_0` …), by dtype. */
export const QUANT_LAYOUTS: Readonly<Record<QuantDType, QuantLayout>> = {
  q4_0: { dtype: 'q4_0', ggmlName: 'Q4_0', ggmlType: 2, blockSize: 32, blockBytes: 18, halfFields: D0 },
  q4_1: { dtype: 'q4_1', ggmlName: 'Q4_1', ggmlType: 3, blockSize: 32, blockBytes: 20, halfFields: D0M2 },
  q5_0: { dtype: 'q5_0', ggmlName: 'Q5_0', ggmlType: 6, blockSize: 32, blockBytes: 22, halfFields: D0 },
  q5_1: { dtype: 'q5_1', ggmlName: 'Q5_1', ggmlType: 7, blockSize: 32, blockBytes: 24, halfFields: D0M2 },
  q8_0: { dtype: 'q8_0', ggmlName: 'Q8_0', ggmlType: 8, blockSize: 32, blockBytes: 34, halfFields: D0 },
  q2_k: {
    dtype: 'q2_k',
    ggmlName: 'Q2_K',
    ggmlType: 10,
    blockSize: 256,
    blockBytes: 84,
    halfFields: [
      { offset: 80, name: 'scale' },
      { offset: 82, name: 'min' },
    ],
  },
  q3_k: {
    dtype: 'q3_k',
    ggmlName: 'Q3_K',
    ggmlType: 11,
    blockSize: 256,
    blockBytes: 110,
    halfFields: [{ offset: 108, name: 'scale' }],
  },
  q4_k: { dtype: 'q4_k', ggmlName: 'Q4_K', ggmlType: 12, blockSize: 256, blockBytes: 144, halfFields: D0M2 },
  q5_k: { dtype: 'q5_k', ggmlName: 'Q5_K', ggmlType: 13, blockSize: 256, blockBytes: 176, halfFields: D0M2 },
  q6_k: {
    dtype: 'q6_k',
    ggmlName: 'Q6_K',
    ggmlType: 14,
    blockSize: 256,
    blockBytes: 210,
    halfFields: [{ offset: 208, name: 'scale' }],
  },
  iq4_nl: {
    dtype: 'iq4_nl',
    ggmlName: 'IQ4_NL',
    ggmlType: 20,
    blockSize: 32,
    blockBytes: 18,
    halfFields: D0,
  },
  iq4_xs: {
    dtype: 'iq4_xs',
    ggmlName: 'IQ4_XS',
    ggmlType: 23,
    blockSize: 256,
    blockBytes: 136,
    halfFields: D0,
  },
};

/** The quantized dtype names, in the order of {@link QUANT_LAYOUTS}. */
export const QUANT_DTYPES = Object.keys(QUANT_LAYOUTS) as readonly QuantDType[];

/** Whether `dtype` names a quantized weight format (any other value, non-strings included, gives false). */
export function isQuantDType(dtype: unknown): dtype is QuantDType {
  return typeof dtype === 'string' && Object.hasOwn(QUANT_LAYOUTS, dtype);
}

/** The layout of the quantized dtype with this ggml type id, if kvsieve reads it. */
export function quantLayoutOfGgmlType(type: number): QuantLayout | undefined {
  return Object.values(QUANT_LAYOUTS).find((l) => l.ggmlType === type);
}

/**
 * Bytes of a quantized `[rows, cols]` tensor, after checking the shape: rank 2 and whole blocks
 * per row (a block never spans two rows, as in ggml).
 */
export function quantByteLength(dtype: QuantDType, shape: readonly number[], what: string): number {
  const l = QUANT_LAYOUTS[dtype];
  if (!l) throw new DTypeError(`${what}: ${String(dtype)} is not a quantized dtype`);
  if (shape.length !== 2) {
    throw new ShapeError(
      `${what}: a ${dtype} tensor is a weight [rows, cols], got shape ${formatShape(shape)}`,
    );
  }
  const [rows, cols] = shape as [number, number];
  if (cols % l.blockSize !== 0) {
    throw new ShapeError(
      `${what}: ${dtype} rows are whole blocks of ${l.blockSize} elements, but shape ${formatShape(shape)} has rows of ${cols}`,
    );
  }
  return rows * (cols / l.blockSize) * l.blockBytes;
}
