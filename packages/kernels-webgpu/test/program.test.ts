import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { input, kernel, layoutEntries, output, Params } from '../src/gpu/program.js';
import { createWebGpuBackend, type WebGpuBackend } from '../src/index.js';

const OPS = join(dirname(fileURLToPath(import.meta.url)), '../src/ops');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const P = new Params([
  ['n', 'u32'],
  ['scale', 'f32'],
] as const);

const DEMO_BUFFERS = ({ w }: { w: 'f32' | 'f16' | 'bf16' | 'f16n' }) => [
  input('x', 'f32'),
  input('ids', 'i32'),
  input('w', w),
  output('out', 'f32'),
];

const DEMO = kernel({
  name: 'demo',
  params: P,
  buffers: DEMO_BUFFERS,
  body: () => `@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x;
  if (i >= u.n) { return; }
  out[i] = x[i] * load_w(u32(ids[i])) * u.scale;
}`,
});

describe('kernel declarations', () => {
  it('no op numbers its bindings by hand', () => {
    const files = sources(OPS);
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.filter((f) => readFileSync(f, 'utf8').includes('@binding('));
    expect(offenders.map((f) => relative(OPS, f))).toEqual([]);
  });

  it('numbers storage buffers in declaration order, uniforms last, and adds loaders and codecs', () => {
    const code = DEMO({ w: 'bf16' }).code();
    const bindings = [...code.matchAll(/@group\(0\) @binding\((\d+)\) var<([^>]+)> (\w+): ([^;]+);/g)].map(
      (m) => `${m[1]} ${m[2]} ${m[3]} ${m[4]}`,
    );
    expect(bindings).toEqual([
      '0 storage, read x array<f32>',
      '1 storage, read ids array<i32>',
      '2 storage, read w array<u32>',
      '3 storage, read_write out array<f32>',
      '4 uniform u Params',
    ]);
    expect(code).toContain('fn load_x(i: u32) -> f32');
    expect(code).toContain('fn load_w(i: u32) -> f32 { return bf16_to_f32(');
    expect(code).not.toContain('fn load_ids');
    expect(code).not.toContain('fn load_out');
    expect(code).toContain('fn bf16_to_f32');
    expect(code).not.toContain('enable f16;');
    const native = DEMO({ w: 'f16n' }).code();
    expect(native.startsWith('enable f16;\n')).toBe(true);
    expect(native).toContain('var<storage, read> w: array<f16>;');
    expect(native).not.toContain('fn f16_to_f32'); // no packed words to decode
    expect(DEMO({ w: 'f32' }).code()).not.toContain('fn bf16_to_f32');
  });

  it('the layout mirrors the declaration: read-only storage, storage, then one uniform block', () => {
    expect(layoutEntries(DEMO({ w: 'f32' })).map((e) => [e.binding, e.buffer?.type])).toEqual([
      [0, 'read-only-storage'],
      [1, 'read-only-storage'],
      [2, 'read-only-storage'],
      [3, 'storage'],
      [4, 'uniform'],
    ]);
  });

  it('the cache key is the name and the variant; one program object per key', () => {
    expect(DEMO({ w: 'f16' }).key).toBe('demo(w="f16")');
    expect(DEMO({ w: 'f16' })).toBe(DEMO({ w: 'f16' }));
    expect(DEMO({ w: 'bf16' }).key).not.toBe(DEMO({ w: 'f16' }).key);
    const two = kernel({ name: 'two', params: P, buffers: () => [output('out', 'f32')], body: () => '' });
    // Key order does not depend on how the variant object was written.
    expect(two({ b: 1, a: 'x' }).key).toBe(two({ a: 'x', b: 1 }).key);
  });

  it('refuses duplicate buffer names and the uniform block name', () => {
    const dup = kernel({
      name: 'dup',
      params: P,
      buffers: () => [input('x', 'f32'), output('x', 'f32')],
      body: () => '',
    });
    expect(() => dup({})).toThrow(/distinct/);
    const clash = kernel({ name: 'clash', params: P, buffers: () => [output('u', 'f32')], body: () => '' });
    expect(() => clash({})).toThrow(/not 'u'/);
  });

  it('refuses a uniform without a value', () => {
    expect(() => P.packInto(new DataView(new ArrayBuffer(P.bytes)), 0, { n: 3 } as never)).toThrow(
      /uniform 'scale' has no value/,
    );
  });
});

describe('dispatch binds buffers by name', () => {
  let be: WebGpuBackend;
  beforeAll(async () => {
    be = await createWebGpuBackend();
  });
  afterAll(() => be.destroy());

  it('runs a declared kernel whatever order the buffers are given in', async () => {
    const x = be.upload([1, 2, 3, 4], [4], 'f32');
    const ids = be.upload([3, 2, 1, 0], [4], 'i32');
    const w = be.upload([10, 20, 30, 40], [4], 'bf16');
    const out = be.zeros([4], 'f32');
    const batch = be.ctx.batch();
    batch.dispatch(
      DEMO({ w: 'bf16' }),
      { out: be.binding(out), w: be.binding(w), ids: be.binding(ids), x: be.binding(x) },
      { n: 4, scale: 0.5 },
      [1],
    );
    batch.done();
    expect(Array.from(await out.read())).toEqual([20, 30, 30, 20]);
  });

  it('two kernels with one name cannot share a cached pipeline', () => {
    const twin = kernel({ name: 'demo', params: P, buffers: DEMO_BUFFERS, body: () => '' });
    // Separate buffers: one bound both read-only and read-write in a pass is a (logged) Dawn error.
    const one = () => be.binding(be.upload([1], [1], 'f32'));
    const buffers = { x: one(), ids: one(), w: one(), out: one() };
    const batch = be.ctx.batch();
    batch.dispatch(DEMO({ w: 'f16' }), buffers, { n: 0, scale: 1 }, [1]);
    expect(() => batch.dispatch(twin({ w: 'f16' }), buffers, { n: 0, scale: 1 }, [1])).toThrow(
      /two kernels share the pipeline key demo\(w="f16"\)/,
    );
    batch.done();
  });

  it('a missing or undeclared buffer is an error naming the kernel and the buffer', () => {
    const x = be.upload([1], [1], 'f32');
    const batch = be.ctx.batch();
    const prog = DEMO({ w: 'f32' });
    const b = be.binding(x);
    // Both dispatches are refused before anything is recorded, so the pass stays empty.
    expect(() => batch.dispatch(prog, { x: b, ids: b, w: b }, { n: 1, scale: 1 }, [1])).toThrow(
      /demo\(w="f32"\): buffer 'out' was not given/,
    );
    expect(() =>
      batch.dispatch(prog, { x: b, ids: b, w: b, out: b, extra: b } as never, { n: 1, scale: 1 }, [1]),
    ).toThrow(/no buffer named 'extra' is declared/);
    batch.done();
  });
});
