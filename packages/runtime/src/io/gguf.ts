import { f16BitsToF32 } from '@kvsieve/core';
import { ModelFileError } from '../errors.js';
import { RandomAccessFile } from './file.js';
import { assertFinite, halfKind, nonFiniteError } from './finite.js';
import { GGML_ALL_TYPES, GGML_TYPES } from './ggml-types.js';
import { type GgufValue, readGgufHeader } from './gguf-header.js';
import { type GgufTensorInfo, ggufAlignment, layoutTensors } from './gguf-layout.js';
import { showName } from './show.js';

export { GGML_TYPES } from './ggml-types.js';
export type { GgufValue } from './gguf-header.js';
export type { GgufTensorInfo } from './gguf-layout.js';

/**
 * A GGUF file: metadata and tensor directory read and validated at open (every count, dimension,
 * offset and the alignment checked against the file before anything is sized from it), tensor data
 * read on demand.
 */
export class GgufFile {
  readonly metadata: Map<string, GgufValue>;
  readonly tensors = new Map<string, GgufTensorInfo>();
  readonly version: number;
  readonly alignment: number;
  private readonly file: RandomAccessFile;

  constructor(readonly path: string) {
    this.file = new RandomAccessFile(path);
    try {
      const h = readGgufHeader(this.file);
      this.version = h.version;
      this.metadata = h.metadata;
      this.alignment = ggufAlignment(path, h);
      for (const t of layoutTensors(path, this.file.size, h, this.alignment)) this.tensors.set(t.name, t);
    } catch (e) {
      this.file.close();
      throw e;
    }
  }

  get(key: string): GgufValue | undefined {
    return this.metadata.get(key);
  }

  /**
   * One tensor's values: F32 and Q8_0 as f32, F16/BF16 as raw 16-bit storage. Q8_0 is dequantized
   * block by block (scale · int8), which is what llama.cpp's reference dequantization computes.
   * NaN or ±Infinity anywhere is a {@link ModelFileError} naming the tensor.
   */
  readTensor(name: string): {
    data: Float32Array | Uint16Array;
    dtype: 'f32' | 'f16' | 'bf16';
    shape: number[];
  } {
    const info = this.tensors.get(name);
    if (!info) throw new ModelFileError(`${this.path}: no tensor named ${showName(name)}`);
    const t = GGML_TYPES[info.type];
    if (!t) {
      const typeName = GGML_ALL_TYPES[info.type]?.name ?? `type ${info.type}`;
      throw new ModelFileError(
        `${this.path}: tensor ${showName(name)} is ${typeName}; supported GGUF tensor types are F32, F16, BF16 and Q8_0 (convert the model with one of those)`,
      );
    }
    const buf = this.file.read(info.offset, info.byteLength, `tensor ${showName(name)}`);
    if (t.name === 'Q8_0') {
      return {
        data: dequantizeQ8_0(buf, info.byteLength / 34, name, this.path),
        dtype: 'f32',
        shape: info.shape,
      };
    }
    // The buffer is fresh and unpooled (RandomAccessFile.read), so a view needs no copy.
    const data =
      t.name === 'F32'
        ? new Float32Array(buf.buffer, buf.byteOffset, info.byteLength / 4)
        : new Uint16Array(buf.buffer, buf.byteOffset, info.byteLength / 2);
    const dtype = t.name === 'F32' ? 'f32' : t.name === 'F16' ? 'f16' : 'bf16';
    assertFinite(data, dtype, name, this.path);
    return { data, dtype, shape: info.shape };
  }

  close(): void {
    this.file.close();
  }
}

/** Q8_0 values are int8, always finite: only the f16 block scales can be NaN or ±Infinity. */
function dequantizeQ8_0(buf: Buffer, blocks: number, name: string, path: string): Float32Array {
  const out = new Float32Array(blocks * 32);
  for (let b = 0; b < blocks; b++) {
    const bits = buf.readUInt16LE(b * 34);
    if ((bits & 0x7c00) === 0x7c00) {
      throw nonFiniteError(
        path,
        name,
        halfKind(bits, 'f16'),
        `the scale of Q8_0 block ${b} (element ${b * 32})`,
      );
    }
    const d = f16BitsToF32(bits);
    for (let i = 0; i < 32; i++) out[b * 32 + i] = d * buf.readInt8(b * 34 + 2 + i);
  }
  return out;
}
