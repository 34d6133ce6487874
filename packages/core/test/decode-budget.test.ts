import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CpuBackend, IndexError, KVCache, OptionError, ShapeError } from '../src/index.js';
import { maxAbsDiff, randomArray } from './helpers.js';

/**
 * attentionMass by its definition, computed independently: for every (query, head) the full
 * softmax over the visible rows of the head's KV segment, as raggedAttention defines visibility.
 */
function massRef(
  q: Float32Array,
  keys: Float32Array,
  pos: Int32Array,
  off: Int32Array,
  len: Int32Array,
  qpos: Int32Array,
  H: number,
  d: number,
  rows: number,
  scale: number,
): Float64Array {
  const Hkv = off.length;
  const out = new Float64Array(rows);
  for (let i = 0; i < qpos.length; i++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor((h * Hkv) / H);
      const seg: number[] = [];
      for (let r = off[g]!; r < off[g]! + len[g]!; r++) if (pos[r]! <= qpos[i]!) seg.push(r);
      const logit = (r: number) => {
        let s = 0;
        for (let c = 0; c < d; c++) s += q[(i * H + h) * d + c]! * keys[r * d + c]!;
        return s * scale;
      };
      const z = seg.reduce((a, r) => a + Math.exp(logit(r)), 0);
      for (const r of seg) out[r]! += Math.exp(logit(r)) / z;
    }
  }
  return out;
}

describe('attentionMass', () => {
  it('matches the definition on ragged heads with spare rows, GQA and chunked queries', async () => {
    const cpu = new CpuBackend();
    const d = 8;
    const H = 6;
    const off = Int32Array.of(0, 20, 31);
    const len = Int32Array.of(17, 9, 0);
    const rows = 40;
    const keys = randomArray(rows * d, 1, 2);
    const pos = Int32Array.from({ length: rows }, (_, r) => (r * 7) % 30);
    for (const qpos of [Int32Array.of(29), Int32Array.of(3, 12, 29)]) {
      const q = randomArray(qpos.length * H * d, 2, 2);
      for (const scale of [undefined, 0.3]) {
        const kv = {
          keys: cpu.upload(keys, [rows, d], 'f32'),
          values: cpu.upload(keys, [rows, d], 'f32'),
          positions: cpu.upload(pos, [rows], 'i32'),
          offsets: cpu.upload(off, [3], 'i32'),
          lengths: cpu.upload(len, [3], 'i32'),
        };
        const out = cpu.attentionMass(
          cpu.upload(q, [qpos.length, H, d], 'f32'),
          kv,
          cpu.upload(qpos, [qpos.length], 'i32'),
          scale === undefined ? {} : { scale },
        );
        expect(out.shape).toEqual([rows]);
        const got = await out.readF32();
        const want = massRef(q, keys, pos, off, len, qpos, H, d, rows, scale ?? 1 / Math.sqrt(d));
        expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
        // Each (query, head) with a visible row contributes exactly 1 to its KV head's segment.
        const seg = (g: number) => got.subarray(off[g]!, off[g]! + len[g]!).reduce((a, b) => a + b, 0);
        expect(seg(0)).toBeCloseTo(2 * qpos.length, 4);
        expect(got[18]).toBe(0); // spare row between segments
      }
    }
  });

  it('rejects mismatched shapes, dtypes and segments outside the cache', () => {
    const cpu = new CpuBackend();
    const kv = (rows: number, offs: number[], lens: number[]) => ({
      keys: cpu.zeros([rows, 4], 'f32'),
      values: cpu.zeros([rows, 4], 'f32'),
      positions: cpu.zeros([rows], 'i32'),
      offsets: cpu.upload(offs, [offs.length], 'i32'),
      lengths: cpu.upload(lens, [lens.length], 'i32'),
    });
    const qp = cpu.upload([0], [1], 'i32');
    expect(() => cpu.attentionMass(cpu.zeros([1, 2, 3], 'f32'), kv(4, [0], [4]), qp)).toThrow(ShapeError);
    expect(() => cpu.attentionMass(cpu.zeros([1, 3, 4], 'f32'), kv(4, [0, 2], [2, 2]), qp)).toThrow(
      /attentionMass/,
    );
    expect(() => cpu.attentionMass(cpu.zeros([1, 2, 4], 'f32'), kv(4, [0, 2], [2, 3]), qp)).toThrow(
      /attentionMass: KV head 1 spans rows \[2, 5\) outside the cache's 4 rows/,
    );
    expect(() =>
      cpu.attentionMass(cpu.zeros([1, 2, 4], 'f32'), kv(4, [0], [4]), cpu.upload([0], [1], 'f32')),
    ).toThrow(/attentionMass/);
  });
});

const d = 3;
function tokens(cpu: CpuBackend, H: number, from: number, n: number) {
  const k = new Float32Array(n * H * d);
  for (let t = 0; t < n; t++) for (let h = 0; h < H; h++) k.set([from + t, h, 1], (t * H + h) * d);
  return {
    k: cpu.upload(k, [n, H, d], 'f32', 'k'),
    v: cpu.upload(
      k.map((x) => -x),
      [n, H, d],
      'f32',
      'v',
    ),
    pos: Int32Array.from({ length: n }, (_, t) => from + t),
  };
}

describe('LayerCache decode-time compaction', () => {
  it('keepCapacity keeps exactly the selected entries in order and leaves bytes() unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 8 }),
        fc.array(fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }), { minLength: 3, maxLength: 3 }),
        async (H, n, extra, masks) => {
          const cpu = new CpuBackend();
          const cache = new KVCache(cpu, { numLayers: 1, kvHeads: H, headDim: d, growBy: 5 });
          const layer = cache.layer(0);
          layer.reserveCapacity(n + extra);
          const { k, v, pos } = tokens(cpu, H, 100, n);
          layer.append(k, v, pos);
          const selection = Array.from({ length: H }, (_, h) => {
            const picked = Int32Array.from(
              Array.from({ length: n }, (_, i) => i).filter((i) => masks[h]![i]),
            );
            return picked.length > 0 ? picked : Int32Array.of(n - 1);
          });
          const bytes = layer.bytes();
          const offsets = layer.rowOffsets();
          layer.compact(selection, { keepCapacity: true });
          expect(layer.bytes()).toBe(bytes);
          expect(Array.from(layer.rowOffsets())).toEqual(Array.from(offsets));
          expect(Array.from(layer.lengths())).toEqual(selection.map((s) => s.length));
          const got = await layer.positions();
          const view = layer.view();
          const keys = await view.keys.readF32();
          const values = await view.values.readF32();
          selection.forEach((sel, h) => {
            expect(Array.from(got[h]!)).toEqual(Array.from(sel, (i) => 100 + i));
            sel.forEach((i, j) => {
              const r = offsets[h]! + j;
              expect([keys[r * d], keys[r * d + 1]]).toEqual([100 + i, h]);
              expect(values[r * d]).toBe(-(100 + i));
            });
          });
          // Appending up to the capacity again reuses the freed rows: no reallocation.
          const room = Math.min(...Array.from(layer.capacities(), (c, h) => c - selection[h]!.length));
          if (room > 0) {
            const more = tokens(cpu, H, 200, room);
            layer.append(more.k, more.v, more.pos);
            expect(layer.bytes()).toBe(bytes);
          }
          cache.dispose();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reserveCapacity grows every head to the requested rows once, and validates', () => {
    const cpu = new CpuBackend();
    const cache = new KVCache(cpu, { numLayers: 1, kvHeads: 2, headDim: d, growBy: 3 });
    const layer = cache.layer(0);
    const { k, v, pos } = tokens(cpu, 2, 0, 4);
    layer.append(k, v, pos);
    layer.reserveCapacity(10);
    expect(Array.from(layer.capacities())).toEqual([10, 10]);
    const bytes = layer.bytes();
    layer.reserveCapacity(6);
    expect(layer.bytes()).toBe(bytes);
    expect(() => layer.reserveCapacity(-1)).toThrow(OptionError);
    expect(() => layer.compact([Int32Array.of(0)], { keepCapacity: true })).toThrow(ShapeError);
    expect(() => layer.compact([Int32Array.of(0), Int32Array.of(4)], { keepCapacity: true })).toThrow(
      IndexError,
    );
    expect(layer.bytes()).toBe(bytes);
    expect(Array.from(cache.rowOffsets()[0]!)).toEqual([0, 10]);
  });
});
