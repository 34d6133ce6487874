import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CpuBackend, IndexError, KVCache, OptionError, ShapeError } from '../src/index.js';

const d = 2;
const H = 2;

/** Token t's key in head h is [t, h]·(1, 10) and its value the negation, so rows identify themselves. */
function tokens(backend: CpuBackend, from: number, n: number) {
  const k = new Float32Array(n * H * d);
  for (let t = 0; t < n; t++) for (let h = 0; h < H; h++) k.set([from + t, h * 10], (t * H + h) * d);
  return {
    k: backend.upload(k, [n, H, d], 'f32', 'k'),
    v: backend.upload(
      k.map((x) => -x),
      [n, H, d],
      'f32',
      'v',
    ),
    pos: Int32Array.from({ length: n }, (_, t) => from + t),
  };
}

async function headKeys(cache: KVCache, layer: number): Promise<number[][]> {
  const view = cache.layer(layer).view();
  const keys = await view.keys.readF32();
  const off = await view.offsets.readI32();
  const len = await view.lengths.readI32();
  return Array.from(off, (o, h) => Array.from({ length: len[h]! }, (_, i) => keys[(o + i) * d]!));
}

describe('KVCache', () => {
  it('appends per head, compacts to a selection and really frees memory', async () => {
    const cpu = new CpuBackend();
    const cache = new KVCache(cpu, { numLayers: 2, kvHeads: H, headDim: d, growBy: 4 });
    const layer = cache.layer(0);
    layer.reserve(10);
    const { k, v, pos } = tokens(cpu, 0, 10);
    layer.append(k, v, pos);
    expect(Array.from(layer.lengths())).toEqual([10, 10]);
    const full = cache.bytes();
    expect(full).toBe(10 * H * (2 * d * 4 + 4));
    const { tensor: hm, copied } = layer.headMajor('keys');
    expect(copied).toBe(false);
    expect(hm.shape).toEqual([H, 10, d]);

    const before = cpu.liveBytes();
    layer.compact([Int32Array.from([0, 3, 9]), Int32Array.from([5])]);
    expect(Array.from(layer.lengths())).toEqual([3, 1]);
    expect(cache.bytes()).toBe(4 * (2 * d * 4 + 4));
    expect(cpu.liveBytes()).toBeLessThan(before);
    expect(await headKeys(cache, 0)).toEqual([[0, 3, 9], [5]]);
    const positions = await layer.positions();
    expect(positions.map((p) => Array.from(p))).toEqual([[0, 3, 9], [5]]);
    const values = await layer.view().values.readF32();
    expect(values[0]).toBe(-0);

    // Decode appends land after each head's kept entries and grow capacity in blocks.
    const next = tokens(cpu, 10, 1);
    layer.append(next.k, next.v, next.pos);
    expect(await headKeys(cache, 0)).toEqual([
      [0, 3, 9, 10],
      [5, 10],
    ]);
    // Each overflowing head grows to its need plus growBy (4): head 0 to 4 + 4, head 1 to 2 + 4.
    expect(cache.bytes()).toBe((4 + 4 + 2 + 4) * (2 * d * 4 + 4));
    expect(cache.usedBytes()).toBe(6 * (2 * d * 4 + 4));
    expect(() => layer.headMajor('keys')).toThrow(/heads hold different lengths \[4, 2\]/);

    cache.dispose();
    expect(cache.bytes()).toBe(0);
  });

  it('headMajor gathers a copy when the storage has spare capacity', async () => {
    const cpu = new CpuBackend();
    const cache = new KVCache(cpu, { numLayers: 1, kvHeads: H, headDim: d, growBy: 3 });
    const { k, v, pos } = tokens(cpu, 0, 2);
    cache.layer(0).append(k, v, pos);
    const { tensor, copied } = cache.layer(0).headMajor('keys');
    expect(copied).toBe(true);
    expect(Array.from(await tensor.readF32())).toEqual([0, 0, 1, 0, 0, 10, 1, 10]);
  });

  it('rejects invalid selections without changing anything', async () => {
    const cpu = new CpuBackend();
    const cache = new KVCache(cpu, { numLayers: 1, kvHeads: H, headDim: d });
    const layer = cache.layer(0);
    expect(() => layer.compact([Int32Array.of(0), Int32Array.of(0)])).toThrow(/holds no entries yet/);
    const { k, v, pos } = tokens(cpu, 0, 4);
    layer.append(k, v, pos);
    const bytes = cache.bytes();
    const bad = [[[0, 1], [4]], [[1, 0], [0]], [[0, 0], [1]], [[], [1]], [[0]]];
    for (const sel of bad) {
      expect(() => layer.compact(sel.map((s) => Int32Array.from(s)))).toThrow(
        sel.length === 1 ? ShapeError : IndexError,
      );
    }
    expect(() => layer.compact([Int32Array.of(0), Int32Array.of(-1)])).toThrow(
      /head 1 index -1 is outside its 4 entries/,
    );
    expect(() => layer.compact([Int32Array.of(), Int32Array.of(1)])).toThrow(/head 0 would keep no entries/);
    expect(cache.bytes()).toBe(bytes);
    expect(await headKeys(cache, 0)).toEqual([
      [0, 1, 2, 3],
      [0, 1, 2, 3],
    ]);
    expect(() => layer.append(k, v, Int32Array.of(1))).toThrow(/1 positions for 4 tokens/);
    expect(() => layer.append(cpu.zeros([1, 3, d], 'f32', 'k3'), v, pos)).toThrow(/k3 dimension 1 must be 2/);
    expect(() => new KVCache(cpu, { numLayers: 0, kvHeads: 1, headDim: 1 })).toThrow(OptionError);
    expect(() => cache.layer(3)).toThrow(/layer 3 is outside \[0, 1\)/);
  });

  it('any sequence of appends and compactions keeps exactly the selected entries (property)', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 5 }) }),
      fc.record({
        kind: fc.constant('compact' as const),
        seeds: fc.array(fc.array(fc.boolean(), { maxLength: 40 }), { minLength: H, maxLength: H }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const cpu = new CpuBackend();
        const cache = new KVCache(cpu, { numLayers: 1, kvHeads: H, headDim: d, growBy: 2 });
        const layer = cache.layer(0);
        const model: number[][] = [[], []];
        let next = 0;
        for (const s of steps) {
          if (s.kind === 'append') {
            const { k, v, pos } = tokens(cpu, next, s.n);
            layer.append(k, v, pos);
            k.dispose();
            v.dispose();
            for (let t = 0; t < s.n; t++) for (const m of model) m.push(next + t);
            next += s.n;
          } else if (model[0]!.length > 0) {
            const sel = model.map((m, h) => {
              const keep = m
                .map((_, i) => i)
                .filter((i) => s.seeds[h]![i % Math.max(1, s.seeds[h]!.length)] ?? true);
              return keep.length > 0 ? keep : [m.length - 1];
            });
            layer.compact(sel.map((x) => Int32Array.from(x)));
            sel.forEach((x, h) => {
              model[h] = x.map((i) => model[h]![i]!);
            });
          }
        }
        if (model[0]!.length > 0) {
          expect(await headKeys(cache, 0)).toEqual(model);
          expect((await layer.positions()).map((p) => Array.from(p))).toEqual(model);
          expect(cache.usedBytes()).toBe((model[0]!.length + model[1]!.length) * (2 * d * 4 + 4));
        }
        cache.dispose();
        expect(cpu.liveBytes()).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
