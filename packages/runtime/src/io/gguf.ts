import { type DType, isQuantDType, QUANT_LAYOUTS } from '@kvsieve/core';
import { ModelFileError } from '../errors.js';
import { type ByteFile, RandomAccessFile } from './file.js';
import { assertFinite, assertFiniteBlocks } from './finite.js';
import { GGML_ALL_TYPES, GGML_LOADED_NAMES, GGML_TYPES } from './ggml-types.js';
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
  /** Every metadata key and value, e.g. `general.architecture` or `tokenizer.ggml.tokens`. */
  readonly metadata: Map<string, GgufValue>;
  /** The tensor directory by name: type, shape and place of each tensor (data not read). */
  readonly tensors = new Map<string, GgufTensorInfo>();
  /** GGUF format version: 2 or 3 (others are refused at open). */
  readonly version: number;
  /** Alignment of tensor data in bytes: `general.alignment`, or 32 when absent. */
  readonly alignment: number;
  /** The file's path, or the name an in-memory file was given: how messages name it. */
  readonly path: string;
  private readonly file: ByteFile;

  /** A path (Node), or an opened file such as `new BytesFile('model.gguf', bytes)` (anywhere). */
  constructor(source: string | ByteFile) {
    this.file = typeof source === 'string' ? new RandomAccessFile(source) : source;
    const path = this.file.path;
    this.path = path;
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

  /** The metadata value at `key` (e.g. `llama.context_length`), or undefined when absent. */
  get(key: string): GgufValue | undefined {
    return this.metadata.get(key);
  }

  /** Bytes of tensor data the file holds (every tensor, as stored: quantized ones as blocks). */
  get tensorBytes(): number {
    let n = 0;
    for (const t of this.tensors.values()) n += t.byteLength;
    return n;
  }

  /**
   * One tensor as stored: F32 as f32 values, F16/BF16 as raw 16-bit storage, quantized types
   * (Q4_0 … Q6_K, IQ4_NL, IQ4_XS) as their raw block bytes with core's quantized dtype, to be
   * uploaded as they are. NaN or ±Infinity anywhere (for quantized types: in a block's f16 scale
   * or min, their only float fields) is a {@link ModelFileError} naming the tensor.
   */
  readTensor(name: string): {
    /** The stored values: f32 values, raw f16/bf16 bits, or a quantized type's block bytes. */
    data: Float32Array | Uint16Array | Uint8Array;
    /** How `data` is to be read: `'f32'`, `'f16'`, `'bf16'` or a quantized dtype such as `'q4_0'`. */
    dtype: DType;
    /** Row-major shape (GGUF's dimension order reversed). */
    shape: number[];
  } {
    const info = this.tensors.get(name);
    if (!info) throw new ModelFileError(`${this.path}: no tensor named ${showName(name)}`);
    const t = GGML_TYPES[info.type];
    if (!t) {
      const typeName = GGML_ALL_TYPES[info.type]?.name ?? `type ${info.type}`;
      throw new ModelFileError(
        `${this.path}: tensor ${showName(name)} is ${typeName}; supported GGUF tensor types are ${GGML_LOADED_NAMES.join(', ')} (convert the model with one of those)`,
      );
    }
    const buf = this.file.read(info.offset, info.byteLength, `tensor ${showName(name)}`);
    // The bytes are fresh, at offset 0 of their own buffer (ByteFile.read): views need no copy.
    if (isQuantDType(t.dtype)) {
      const bytes = new Uint8Array(buf.buffer, buf.byteOffset, info.byteLength);
      assertFiniteBlocks(bytes, QUANT_LAYOUTS[t.dtype], name, this.path);
      return { data: bytes, dtype: t.dtype, shape: info.shape };
    }
    const data =
      t.dtype === 'f32'
        ? new Float32Array(buf.buffer, buf.byteOffset, info.byteLength / 4)
        : new Uint16Array(buf.buffer, buf.byteOffset, info.byteLength / 2);
    const dtype = t.dtype as 'f32' | 'f16' | 'bf16';
    assertFinite(data, dtype, name, this.path);
    return { data, dtype, shape: info.shape };
  }

  /** Closes the underlying file; tensors can no longer be read. */
  close(): void {
    this.file.close();
  }
}
