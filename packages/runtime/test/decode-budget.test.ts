import {
  type CompressionMethod,
  CpuBackend,
  type DecodeContext,
  METHOD_SPEC,
  OptionError,
} from '@kvsieve/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate, loadModel, type Model } from '../src/index.js';
import { TINY, writeHfFolder } from './fixtures/tiny-model.js';

const PROMPT = Array.from({ length: 9 }, (_, i) => (i * 37 + 11) % 256);
const ROW = 2 * (TINY.hidden / TINY.heads) * 4 + 4;

let model: Model;
beforeAll(async () => {
  model = await loadModel(writeHfFolder(TINY, { seed: 5 }), { backend: new CpuBackend() });
});

describe('decode steps with attention mass', () => {
  it('a method observing decodeAttention gets one mass per layer and row, summing to the query heads, and the same logits', async () => {
    const masses: { rows: number; live: number; zerosOutside: boolean }[][] = [];
    const observer: CompressionMethod = {
      spec: METHOD_SPEC,
      name: 'attention-observer',
      options: {},
      begin: () => ({
        observe: { window: 0, decodeAttention: true },
        afterLayer: async () => ({ keep: 'all' }),
        async afterDecodeStep(ctx) {
          const step: { rows: number; live: number; zerosOutside: boolean }[] = [];
          for (const [l, m] of ctx.attention!.entries()) {
            const v = await m.readF32();
            let live = 0;
            let zerosOutside = true;
            v.forEach((x, r) => {
              const inside = Array.from(ctx.offsets[l]!).some(
                (o, h) => r >= o && r < o + ctx.lengths[l]![h]!,
              );
              if (inside) live += x;
              else if (x !== 0) zerosOutside = false;
            });
            step.push({ rows: v.length, live, zerosOutside });
          }
          masses.push(step);
          return undefined;
        },
      }),
    };
    const plain = await model.start(PROMPT);
    const observed = await model.start(PROMPT, { method: observer });
    for (let t = 0; t < 3; t++) {
      const a = await plain.step(40 + t);
      const b = await observed.step(40 + t);
      expect(Array.from(b.logits!)).toEqual(Array.from(a.logits!));
      expect(b.position).toBe(PROMPT.length + t);
    }
    expect(masses).toHaveLength(3);
    for (const step of masses) {
      expect(step).toHaveLength(TINY.layers);
      for (const m of step) {
        expect(m.zerosOutside).toBe(true);
        expect(m.live).toBeCloseTo(TINY.heads, 4);
      }
    }
    plain.dispose();
    observed.dispose();
  });
});

/** Keeps the last `budget` entries per head once a head holds budget + slack, recording what it saw. */
function lastN(budget: number, slack: number, attention: boolean) {
  const seen: DecodeContext[] = [];
  const sums: number[][] = [];
  let disposed = 0;
  const method: CompressionMethod = {
    spec: METHOD_SPEC,
    name: 'last-n',
    options: {},
    begin: () => ({
      observe: { window: 1, decodeCapacity: budget + slack, ...(attention ? { decodeAttention: true } : {}) },
      afterLayer: async () => ({ keep: 'all' }),
      async afterDecodeStep(ctx) {
        seen.push(ctx);
        if (ctx.attention)
          sums.push(
            await Promise.all(ctx.attention.map(async (t) => (await t.readF32()).reduce((x, y) => x + y, 0))),
          );
        if (!ctx.lengths.some((l) => l.some((n) => n >= budget + slack))) return undefined;
        return ctx.lengths.map((l) =>
          Array.from(l, (n) => Int32Array.from({ length: budget }, (_, j) => n - budget + j)),
        );
      },
      dispose: () => {
        disposed++;
      },
    }),
  };
  return { method, seen, sums, disposed: () => disposed };
}

describe('generate with a decode-time budget', () => {
  it('reserves the capacity once, compacts in place and hands over attention only when observed', async () => {
    for (const attention of [false, true]) {
      const m = lastN(12, 4, attention);
      const bytes = new Set<number>();
      const run = generate(model, PROMPT, { method: m.method, maxTokens: 40, stopTokens: [] });
      for await (const t of run) bytes.add(t.stats.cacheAllocatedBytes);
      expect([...bytes]).toEqual([TINY.layers * TINY.kvHeads * 16 * ROW]);
      expect(m.seen).toHaveLength(39);
      expect(m.disposed()).toBe(1);
      const last = m.seen.at(-1)!;
      expect(Array.from(last.offsets[0]!)).toEqual([0, 16]);
      expect(last.attention !== undefined).toBe(attention);
      if (attention) for (const s of m.sums) for (const x of s) expect(x).toBeCloseTo(TINY.heads, 4);
    }
  });

  it('rejects a decode capacity that is not a positive integer', async () => {
    const m = lastN(12, 4, false);
    const bad: CompressionMethod = {
      ...m.method,
      begin: (a, b) => ({ ...m.method.begin(a, b), observe: { window: 1, decodeCapacity: 0 } }),
    };
    const run = generate(model, PROMPT, { method: bad, maxTokens: 2 });
    await expect(run.next()).rejects.toThrow(OptionError);
    await expect(generate(model, PROMPT, { method: bad, maxTokens: 2 }).next()).rejects.toThrow(
      /decodeCapacity 0/,
    );
  });
});
