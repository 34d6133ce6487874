import type { GgufFile } from '../../src/index.js';
import { walkGguf } from '../fixtures/gguf-walk.js';

/**
 * Independent checks of what a reader accepted: the file is re-read by simpler code, and a
 * successful load must agree with it byte for byte and satisfy the format's layout rules.
 */

/** [block size, block bytes] of the ggml types the fuzz files hold. */
const GGML_SIZES: Record<number, [number, number]> = {
  0: [1, 4],
  1: [1, 2],
  2: [32, 18],
  8: [32, 34],
  9: [32, 36],
  30: [1, 2],
};

export interface PlacedTensor {
  readonly offset: number;
  readonly type: number;
  readonly elements: number;
  readonly shape: number[];
}

/** Same element type and identical bytes (NaN payloads included). */
export function sameBits(a: unknown, b: Float32Array | Uint16Array | Uint8Array): boolean {
  if (
    !(a instanceof Float32Array || a instanceof Uint16Array || a instanceof Uint8Array) ||
    a.constructor !== b.constructor
  )
    return false;
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function overlap(ranges: [number, number, string][]): string | null {
  const r = ranges.filter(([s, e]) => e > s).sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < r.length; i++) {
    if (r[i]![0] < r[i - 1]![1]) return `accepted ${r[i]![2]} overlapping ${r[i - 1]![2]}`;
  }
  return null;
}

/** The tensors of a GGUF the reader opened, placed by the walker; a string says what is wrong. */
export function checkGgufLayout(buf: Buffer, g: GgufFile): Map<string, PlacedTensor> | string {
  let w: ReturnType<typeof walkGguf>;
  try {
    w = walkGguf(buf);
  } catch (e) {
    return `accepted a file the independent walker cannot read (${(e as Error).message})`;
  }
  if (w.alignment !== g.alignment) return `alignment ${g.alignment}, the walker reads ${w.alignment}`;
  if (w.tensors.length !== g.tensors.size)
    return `${g.tensors.size} tensors, the walker reads ${w.tensors.length}`;
  const out = new Map<string, PlacedTensor>();
  const ranges: [number, number, string][] = [];
  for (const t of w.tensors) {
    const info = g.tensors.get(t.name);
    if (!info) return `no tensor ${JSON.stringify(t.name)}, which the walker reads`;
    const offset = w.dataStart + t.rel;
    const shape = [...t.dims].reverse();
    if (info.offset !== offset) return `${t.name} placed at ${info.offset}, the walker at ${offset}`;
    if (info.shape.join() !== shape.join()) return `${t.name} shaped [${info.shape}], the walker [${shape}]`;
    if (t.rel % w.alignment !== 0) return `accepted ${t.name} at unaligned data offset ${t.rel}`;
    const elements = t.dims.reduce((a, b) => a * b, 1);
    const size = GGML_SIZES[t.type];
    if (size) {
      if ((t.dims[0] ?? 1) % size[0] !== 0) return `accepted ${t.name} with a partial block`;
      const bytes = (elements / size[0]) * size[1];
      if (bytes !== info.byteLength)
        return `${t.name} is ${info.byteLength} bytes, type × shape says ${bytes}`;
    }
    if (offset + info.byteLength > buf.length) return `accepted ${t.name} past the end of the file`;
    ranges.push([offset, offset + info.byteLength, t.name]);
    out.set(t.name, { offset, type: t.type, elements, shape });
  }
  return overlap(ranges) ?? out;
}

const ST_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I32: 4 };

function parseHeader(buf: Buffer): { header: Record<string, unknown>; base: number } | string {
  try {
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
    if (header === null || typeof header !== 'object' || Array.isArray(header))
      return 'a header that is not an object';
    return { header, base: 8 + n };
  } catch (e) {
    return `accepted a header the independent reader cannot parse (${(e as Error).message})`;
  }
}

/** The layout rules of a safetensors file the reader accepted. */
export function checkSafetensorsLayout(buf: Buffer): { names: string[] } | string {
  const p = parseHeader(buf);
  if (typeof p === 'string') return p;
  const names: string[] = [];
  const ranges: [number, number, string][] = [];
  for (const [name, t] of Object.entries(p.header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: o } = t as { dtype: string; shape: number[]; data_offsets: number[] };
    if (!Array.isArray(o) || !o.every((x) => Number.isSafeInteger(x) && x >= 0) || o[0]! > o[1]!) {
      return `accepted ${name} with data_offsets ${JSON.stringify(o)}`;
    }
    if (p.base + o[1]! > buf.length) return `accepted ${name} past the end of the file`;
    const width = ST_BYTES[dtype];
    const elements = shape.reduce((a, b) => a * b, 1);
    if (width !== undefined && elements * width !== o[1]! - o[0]!)
      return `accepted ${name} whose size is not dtype × shape`;
    ranges.push([p.base + o[0]!, p.base + o[1]!, name]);
    names.push(name);
  }
  return overlap(ranges) ?? { names };
}

/** Every F32/F16/BF16 tensor of a safetensors file, decoded straight from its bytes. */
export function decodeSafetensors(
  buf: Buffer,
): Map<string, { data: Float32Array | Uint16Array; shape: number[] }> | string {
  const p = parseHeader(buf);
  if (typeof p === 'string') return p;
  const out = new Map<string, { data: Float32Array | Uint16Array; shape: number[] }>();
  for (const [name, t] of Object.entries(p.header)) {
    if (name === '__metadata__' || t === null || typeof t !== 'object') continue;
    const { dtype, shape, data_offsets: o } = t as { dtype: string; shape: number[]; data_offsets: number[] };
    if (!['F32', 'F16', 'BF16'].includes(dtype) || !Array.isArray(o)) continue;
    const bytes = Uint8Array.from(buf.subarray(p.base + o[0]!, p.base + o[1]!));
    // A mutated entry this reader cannot decode is left out: a load that uses it then mismatches.
    if (bytes.length % (dtype === 'F32' ? 4 : 2) !== 0) continue;
    out.set(name, {
      data: dtype === 'F32' ? new Float32Array(bytes.buffer) : new Uint16Array(bytes.buffer),
      shape,
    });
  }
  return out;
}
