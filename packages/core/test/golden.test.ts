import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeShared } from '@kvsieve/test-utils';
import { expect, it } from 'vitest';
import {
  type Allocator,
  CpuBackend,
  createLayerContext,
  type LayerContext,
  type ModelInfo,
  observationScorer,
  type Pooling,
  type ReduceOp,
  reduceToKvHeads,
  type Scorer,
  type Selection,
  scoreAllocateSelect,
  sinksAndRecent,
  uniformAllocator,
} from '../src/index.js';

interface Check {
  name: string;
  method: 'snapkv' | 'pyramidkv' | 'h2o' | 'streamingllm';
  params: {
    window: number;
    capacity: number;
    kernel?: number;
    pooling?: Pooling;
    gqaReduce?: ReduceOp;
    beta?: number;
    numLayers?: number;
  };
  layer?: number;
  kept: number[][];
  pooledScores?: string;
}

interface GoldenFile {
  name: string;
  shape: { queryHeads: number; kvHeads: number; length: number; headDim: number };
  query: string;
  key: string;
  checks: Check[];
}

const f32 = (b64: string) => {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
};

/**
 * Kept sets agree when they differ only in positions whose score equals the boundary score (the
 * smallest kept score): the golden README's tie rule.
 */
function sameUpToTies(
  ours: number[],
  theirs: number[],
  scores: Float32Array | null,
  prefix: number,
): string | null {
  const a = new Set(ours);
  const b = new Set(theirs);
  if (a.size !== b.size) return `kept ${a.size}, reference ${b.size}`;
  const diff = [...a].filter((x) => !b.has(x)).concat([...b].filter((x) => !a.has(x)));
  if (diff.length === 0) return null;
  if (!scores || diff.some((x) => x >= prefix)) return `differs at ${diff.join(', ')}`;
  const boundary = Math.min(...theirs.filter((x) => x < prefix).map((x) => scores[x]!));
  const off = diff.filter(
    (x) => Math.abs(scores[x]! - boundary) > 1e-6 * Math.max(1e-30, Math.abs(boundary)),
  );
  return off.length === 0 ? null : `differs beyond ties at ${off.join(', ')} (boundary score ${boundary})`;
}

/**
 * The scorer each reference method uses, from core's building blocks only (PyramidKV's allocator
 * lives in its package: its checks run in @kvsieve/conformance's golden test).
 */
function methodFor(check: Check): { allocator: Allocator; scorer: Scorer } {
  const p = check.params;
  if (check.method === 'h2o') {
    return {
      allocator: uniformAllocator,
      scorer: {
        name: 'column sums',
        score: (ctx: LayerContext) => {
          const raw = ctx.backend.attentionColumnSums(ctx.allQueries!, ctx.keys);
          const out = reduceToKvHeads(
            ctx.backend,
            raw,
            ctx.model.numKvHeads,
            ctx.window,
            p.gqaReduce ?? 'mean',
          );
          raw.dispose();
          return out;
        },
      },
    };
  }
  const scorer = observationScorer({
    reduce: p.gqaReduce ?? 'mean',
    pooling: p.pooling ?? 'avgpool',
    kernel: p.kernel ?? 5,
  });
  return { allocator: uniformAllocator, scorer };
}

describeShared(
  'golden vectors (KVCache-Factory reference) reproduced by core building blocks',
  ['golden'],
  (shared) => {
    const dir = join(shared, 'golden');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    it('finds the vector files', () => expect(files.length).toBeGreaterThanOrEqual(6));

    for (const file of files) {
      const golden = JSON.parse(readFileSync(join(dir, file), 'utf8')) as GoldenFile;
      const { queryHeads: H, kvHeads: Hkv, length: L, headDim: d } = golden.shape;
      for (const check of golden.checks.filter((c) => c.method !== 'pyramidkv')) {
        it(`${golden.name}: ${check.name}`, async () => {
          const cpu = new CpuBackend();
          const w = check.params.window;
          const q = f32(golden.query);
          const qWin = new Float32Array(H * w * d);
          for (let h = 0; h < H; h++) qWin.set(q.subarray((h * L + L - w) * d, (h * L + L) * d), h * w * d);
          const model: ModelInfo = {
            numLayers: check.params.numLayers ?? 1,
            numHeads: H,
            numKvHeads: Hkv,
            headDim: d,
          };
          const ctx = createLayerContext({
            backend: cpu,
            model,
            layer: check.layer ?? 0,
            keys: cpu.upload(f32(golden.key), [Hkv, L, d], 'f32', 'key'),
            windowQueries: cpu.upload(qWin, [H, w, d], 'f32', 'window queries'),
            allQueries: cpu.upload(q, [H, L, d], 'f32', 'query'),
            positions: Int32Array.from({ length: L }, (_, i) => i),
          });

          let kept: Selection | 'all';
          let scores: Float32Array | null = null;
          if (check.method === 'streamingllm') {
            const row = sinksAndRecent(L, check.params.capacity, check.params.capacity - w);
            kept = Array.from({ length: Hkv }, () => row);
          } else {
            const { allocator, scorer } = methodFor(check);
            const method = scoreAllocateSelect({
              name: check.method,
              budget: check.params.capacity,
              window: w,
              scorer,
              allocator,
            });
            const run = method.begin(model, { length: L });
            kept = (await run.afterLayer(ctx)).keep;
            const s = await scorer.score(ctx);
            scores = await s.readF32();
            s.dispose();
          }
          if (check.pooledScores) {
            const want = f32(check.pooledScores);
            expect(scores!.length).toBe(want.length);
            want.forEach((v, i) => {
              expect(Math.abs(scores![i]! - v)).toBeLessThanOrEqual(1e-4 * Math.abs(v) + 1e-7);
            });
          }
          const P = L - w;
          check.kept.forEach((theirs, h) => {
            const ours = kept === 'all' ? Array.from({ length: L }, (_, i) => i) : Array.from(kept[h]!);
            const headScores = scores ? scores.subarray(h * P, (h + 1) * P) : null;
            expect(sameUpToTies(ours, theirs, headScores, P), `head ${h}`).toBeNull();
          });
          ctx.release();
        });
      }
    }
  },
);
