import { ModelFileError } from '../errors.js';
import { GGML_ALL_TYPES } from './ggml-types.js';
import { GGUF_VALUE_TYPES, type GgufHeader } from './gguf-header.js';
import { show, showName } from './show.js';

/** One entry of a GGUF file's tensor directory, checked against the file at open. */
export interface GgufTensorInfo {
  /** The tensor's GGUF name, e.g. `blk.0.attn_q.weight`. */
  readonly name: string;
  /** Row-major shape (GGUF lists dimensions fastest first; this is reversed). */
  readonly shape: number[];
  /** The ggml type id (0 F32, 1 F16, 2 Q4_0, …, 30 BF16), as stored in the file. */
  readonly type: number;
  /** Absolute byte offset of the data in the file. */
  readonly offset: number;
  /** Bytes of data: for quantized types, whole blocks. */
  readonly byteLength: number;
}

/** llama.cpp's default when `general.alignment` is absent. */
export const DEFAULT_ALIGNMENT = 32;
const INTEGER_TYPES = new Set([0, 1, 2, 3, 4, 5, 10, 11]);

/** `general.alignment`: an integer power of two up to 2^31 (llama.cpp's rule), 32 when absent. */
export function ggufAlignment(path: string, h: GgufHeader): number {
  const v = h.metadata.get('general.alignment');
  if (v === undefined) return DEFAULT_ALIGNMENT;
  const type = h.types.get('general.alignment')!;
  if (
    !INTEGER_TYPES.has(type) ||
    typeof v !== 'number' ||
    v < 1 ||
    v > 2 ** 31 ||
    !Number.isInteger(Math.log2(v))
  ) {
    throw new ModelFileError(
      `${path}: metadata general.alignment is ${show(v)} (${GGUF_VALUE_TYPES[type] ?? `type ${type}`}); it must be an integer power of two (llama.cpp's rule; 32 when absent); the file is corrupt`,
    );
  }
  return v;
}

/**
 * Place every tensor: a known ggml type, rows a whole number of blocks, offset a multiple of the
 * alignment, bytes (type × shape) inside the data section, and no two tensors sharing a byte.
 */
export function layoutTensors(
  path: string,
  size: number,
  h: GgufHeader,
  alignment: number,
): GgufTensorInfo[] {
  const dataStart = Math.ceil(h.end / alignment) * alignment;
  const out: GgufTensorInfo[] = [];
  for (const { name, dims, type, rel } of h.tensors) {
    const label = showName(name);
    const t = GGML_ALL_TYPES[type];
    if (!t) {
      throw new ModelFileError(
        `${path}: tensor ${label} has ggml type ${type}, which is not a ggml type this reader knows; the file is corrupt or from a newer GGUF version`,
      );
    }
    const row = dims[0] ?? 1;
    if (row % t.blockSize !== 0) {
      throw new ModelFileError(
        `${path}: tensor ${label} is ${t.name} with rows of ${row} elements, not a multiple of its block size ${t.blockSize}; the file is corrupt`,
      );
    }
    if (rel % alignment !== 0) {
      throw new ModelFileError(
        `${path}: tensor ${label} starts at data offset ${rel}, not a multiple of the alignment ${alignment}; the file is corrupt`,
      );
    }
    const elements = dims.reduce((a, b) => a * b, 1);
    const byteLength = (elements / t.blockSize) * t.blockBytes;
    const offset = dataStart + rel;
    if (offset + byteLength > size) {
      throw new ModelFileError(
        `${path}: tensor ${label} needs bytes [${offset}, ${offset + byteLength}) but the file has ${size}; the file is truncated`,
      );
    }
    out.push({ name, shape: [...dims].reverse(), type, offset, byteLength });
  }
  const byStart = [...out].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byStart.length; i++) {
    const a = byStart[i - 1]!;
    const b = byStart[i]!;
    if (b.offset < a.offset + a.byteLength) {
      throw new ModelFileError(
        `${path}: tensor ${showName(b.name)} (bytes [${b.offset}, ${b.offset + b.byteLength})) overlaps tensor ${showName(a.name)} (bytes [${a.offset}, ${a.offset + a.byteLength})); the tensor directory is corrupt`,
      );
    }
  }
  return out;
}
