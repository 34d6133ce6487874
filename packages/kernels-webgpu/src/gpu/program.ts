import { isQuantDType } from '@kvsieve/core';
import { IQ4_TABLE } from './quant-wgsl.js';
import { type ElemKind, floatLoader, HALF_CODECS, wgslElem } from './wgsl.js';

// One declaration per kernel (tfjs's webgpu_program.ts, onnxruntime-web's ProgramInfo): its
// storage buffers (name, element kind, access) and its uniform fields. The WGSL declarations,
// numbered in declaration order with the uniforms last, the bind-group layout and the bind-group
// entries are all generated from it, so the numbering is written nowhere by hand and cannot drift.

export type ScalarType = 'u32' | 'i32' | 'f32';

/**
 * How a kernel sees a buffer: a tensor's element kind, raw words updated with atomics, or 16-byte
 * vectors (a kernel that reads a tensor four words per load; its rows must be 16-byte multiples).
 */
export type BufferKind = ElemKind | 'atomic_u32' | 'vec4<u32>' | 'vec4<f32>';

const RAW_KINDS: ReadonlySet<BufferKind> = new Set(['atomic_u32', 'vec4<u32>', 'vec4<f32>', 'i32', 'u32']);

export interface BufferDecl<N extends string = string> {
  readonly name: N;
  readonly kind: BufferKind;
  readonly access: 'read' | 'read_write';
}

/**
 * A buffer the kernel only reads; a float or quantized one also gets `fn load_<name>(i: u32) -> f32`
 * (quantized: element i dequantized from the packed blocks).
 */
export function input<N extends string>(name: N, kind: BufferKind): BufferDecl<N> {
  return { name, kind, access: 'read' };
}

/** A buffer the kernel writes (and may read). */
export function output<N extends string>(name: N, kind: BufferKind): BufferDecl<N> {
  return { name, kind, access: 'read_write' };
}

/** A uniform block: the WGSL struct and a packer built from one field list, so they cannot drift. */
export class Params<F extends string> {
  readonly bytes: number;
  readonly struct: string;
  constructor(private readonly fields: readonly (readonly [F, ScalarType])[]) {
    const count = Math.max(4, Math.ceil(fields.length / 4) * 4); // uniform structs are 16-byte multiples
    const pad = Array.from({ length: count - fields.length }, (_, i) => `  _pad${i}: u32,`);
    this.struct = `struct Params {\n${fields
      .map(([n, t]) => `  ${n}: ${t},`)
      .concat(pad)
      .join('\n')}\n};\n`;
    this.bytes = count * 4;
  }

  /** Write the block at `offset` of `view` (a dispatch packs straight into the uniform arena). */
  packInto(view: DataView, offset: number, values: Readonly<Record<F, number>>): void {
    const fields = this.fields;
    for (let i = 0; i < fields.length; i++) {
      const [name, type] = fields[i]!;
      const v = values[name];
      if (typeof v !== 'number') throw new Error(`uniform '${name}' has no value`);
      if (type === 'f32') view.setFloat32(offset + i * 4, v, true);
      else if (type === 'i32') view.setInt32(offset + i * 4, v, true);
      else view.setUint32(offset + i * 4, v, true);
    }
  }
}

/** The uniform values a {@link Params} block packs. */
export type UniformsOf<T> = T extends Params<infer F> ? Record<F, number> : never;

/** What a kernel's code depends on besides its buffers: every value here is part of the cache key. */
export type Variant = Readonly<Record<string, string | number | boolean>>;

/** A compiled-once WGSL program: the unit the pipeline cache and `Batch.dispatch` work with. */
export interface Program<F extends string = string, N extends string = string> {
  /** Everything the generated code depends on: the kernel's name and its variant. */
  readonly key: string;
  readonly buffers: readonly BufferDecl<N>[];
  readonly params: Params<F>;
  code(): string;
}

export interface KernelDef<V extends Variant, F extends string, N extends string> {
  readonly name: string;
  readonly params: Params<F>;
  readonly buffers: (v: V) => readonly BufferDecl<N>[];
  /** WGSL extensions the body needs (`subgroups`): `enable` directives must open the module. */
  readonly enables?: readonly string[];
  /**
   * Constants, workgroup memory, helper functions and `main`, after the generated declarations.
   * Buffers are referred to by name, uniforms as `u.<field>`.
   */
  readonly body: (v: V) => string;
}

/** One step of {@link kernel}'s lookup by variant entries: key, then value, then the next node. */
interface VariantNode<P> {
  readonly next: Map<string, Map<string | number | boolean | undefined, VariantNode<P>>>;
  program: P | undefined;
}

function keyOf(name: string, v: Variant): string {
  const parts = Object.keys(v)
    .sort()
    .map((k) => `${k}=${JSON.stringify(v[k])}`);
  return `${name}(${parts.join(',')})`;
}

function header(buffers: readonly BufferDecl[], params: Params<string>): string {
  const kinds = buffers.map((b) => b.kind);
  const lines: string[] = [];
  // `enable` must open the module; the codecs are needed to unpack or pack 16-bit words.
  if (kinds.includes('f16n')) lines.push('enable f16;');
  // Quantized blocks keep their scales as f16 bits, decoded with the same codec.
  if (kinds.some((k) => k === 'f16' || k === 'bf16' || isQuantDType(k))) lines.push(HALF_CODECS);
  if (kinds.includes('iq4_nl') || kinds.includes('iq4_xs')) lines.push(IQ4_TABLE);
  lines.push(params.struct);
  buffers.forEach((b, i) => {
    const elem =
      b.kind === 'atomic_u32'
        ? 'atomic<u32>'
        : b.kind === 'vec4<u32>' || b.kind === 'vec4<f32>'
          ? b.kind
          : wgslElem(b.kind);
    lines.push(`@group(0) @binding(${i}) var<storage, ${b.access}> ${b.name}: array<${elem}>;`);
  });
  lines.push(`@group(0) @binding(${buffers.length}) var<uniform> u: Params;`);
  for (const b of buffers) {
    if (b.access === 'read' && !RAW_KINDS.has(b.kind)) {
      lines.push(floatLoader(b.name, b.kind as ElemKind).trimEnd());
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A kernel family: `variant → Program`, memoized by key, so a dispatch in a decode loop costs a map
 * lookup. The variant is the only input the buffers and body see, so nothing that changes the code
 * can be left out of the key.
 */
export function kernel<V extends Variant, F extends string, N extends string>(
  def: KernelDef<V, F, N>,
): (v: V) => Program<F, N> {
  const made = new Map<string, Program<F, N>>();
  // The variant's entries as written, one map level per key and per value, in front of `made`:
  // building the sorted, quoted key for every dispatch of a decode step cost microseconds each.
  // A path only ever leads to one key (the same entries in the same order), so it is a pure cache.
  const seen: VariantNode<Program<F, N>> = { next: new Map(), program: undefined };
  return (v) => {
    let node = seen;
    for (const k in v) {
      const x = v[k];
      let byValue = node.next.get(k);
      if (!byValue) {
        byValue = new Map();
        node.next.set(k, byValue);
      }
      let child = byValue.get(x);
      if (!child) {
        child = { next: new Map(), program: undefined };
        byValue.set(x, child);
      }
      node = child;
    }
    if (node.program) return node.program;
    const key = keyOf(def.name, v);
    let p = made.get(key);
    if (!p) {
      const buffers = def.buffers(v);
      const names = new Set<string>(buffers.map((b) => b.name));
      if (names.size !== buffers.length || names.has('u')) {
        throw new Error(`${key}: buffer names must be distinct and not 'u' (the uniforms)`);
      }
      const enables = (def.enables ?? []).map((e) => `enable ${e};\n`).join('');
      p = {
        key,
        buffers,
        params: def.params,
        code: () => enables + header(buffers, def.params) + def.body(v),
      };
      made.set(key, p);
    }
    node.program = p;
    return p;
  };
}

// GPUShaderStage.COMPUTE, spelled out so that no WebGPU globals are needed.
const COMPUTE_STAGE = 4;

/** The bind-group layout a program's declarations imply (storage buffers, then the uniforms). */
export function layoutEntries(p: Program): GPUBindGroupLayoutEntry[] {
  const entries: GPUBindGroupLayoutEntry[] = p.buffers.map((b, i) => ({
    binding: i,
    visibility: COMPUTE_STAGE,
    buffer: { type: b.access === 'read' ? 'read-only-storage' : 'storage' },
  }));
  entries.push({ binding: p.buffers.length, visibility: COMPUTE_STAGE, buffer: { type: 'uniform' } });
  return entries;
}
