/**
 * Every method with the parameter sets the shared matrix runs (kvpress's `default_presses` idea):
 * a new method or option adds a line here and gets every test of matrix.test.ts.
 */
import type { CompressionMethod } from '@kvsieve/core';
import { adakv, createMethod as createAdaKV } from '@kvsieve/methods-adakv';
import { createMethod as createH2O, h2o } from '@kvsieve/methods-h2o';
import { createMethod as createPyramidKV, pyramidkv } from '@kvsieve/methods-pyramidkv';
import { createMethod as createSnapKV, snapkv } from '@kvsieve/methods-snapkv';
import { createMethod as createStreamingLLM, streamingllm } from '@kvsieve/methods-streamingllm';

export type Shape = 'uniform' | 'pyramid' | 'adaptive';

export interface MatrixEntry {
  readonly label: string;
  readonly make: () => CompressionMethod;
  /** The package's `createMethod`, to rebuild the method from its reported options. */
  readonly fromOptions: (o: Record<string, unknown>) => CompressionMethod;
  /** Budget per KV head in tokens for a prompt of `length`. */
  readonly capacity: (length: number) => number;
  /** Positions always kept: the window (last `window`) and the sinks (first `sinks`). */
  readonly window: number;
  readonly sinks: number;
  readonly shape: Shape;
  /** AdaKV's floor of prefix tokens per head. */
  readonly floor?: number;
}

const tokens = (n: number) => () => n;

export const METHOD_MATRIX: readonly MatrixEntry[] = [
  {
    label: 'snapkv defaults but window',
    make: () => snapkv({ budget: 16, window: 4 }),
    fromOptions: createSnapKV,
    capacity: tokens(16),
    window: 4,
    sinks: 0,
    shape: 'uniform',
  },
  {
    label: 'snapkv maxpool k7 max',
    make: () => snapkv({ budget: 20, window: 6, kernel: 7, pooling: 'maxpool', gqaReduce: 'max' }),
    fromOptions: createSnapKV,
    capacity: tokens(20),
    window: 6,
    sinks: 0,
    shape: 'uniform',
  },
  {
    label: 'snapkv ratio, no pooling, sum',
    make: () => snapkv({ budget: { ratio: 0.5 }, window: 3, pooling: 'none', gqaReduce: 'sum' }),
    fromOptions: createSnapKV,
    capacity: (L) => Math.round(L / 2),
    window: 3,
    sinks: 0,
    shape: 'uniform',
  },
  {
    label: 'pyramidkv',
    make: () => pyramidkv({ budget: 14, window: 4 }),
    fromOptions: createPyramidKV,
    capacity: tokens(14),
    window: 4,
    sinks: 0,
    shape: 'pyramid',
  },
  {
    label: 'pyramidkv beta 4 ratio',
    make: () => pyramidkv({ budget: { ratio: 0.3 }, window: 2, beta: 4, kernel: 3 }),
    fromOptions: createPyramidKV,
    capacity: (L) => Math.round(0.3 * L),
    window: 2,
    sinks: 0,
    shape: 'pyramid',
  },
  {
    label: 'pyramidkv exact schedule',
    make: () => pyramidkv({ budget: 14, window: 4, schedule: 'exact' }),
    fromOptions: createPyramidKV,
    capacity: tokens(14),
    window: 4,
    sinks: 0,
    shape: 'pyramid',
  },
  {
    label: 'h2o',
    make: () => h2o({ budget: 16, window: 4 }),
    fromOptions: createH2O,
    capacity: tokens(16),
    window: 4,
    sinks: 0,
    shape: 'uniform',
  },
  {
    label: 'h2o sum tokens',
    make: () => h2o({ budget: { tokens: 12 }, window: 1, gqaReduce: 'sum' }),
    fromOptions: createH2O,
    capacity: tokens(12),
    window: 1,
    sinks: 0,
    shape: 'uniform',
  },
  {
    label: 'streamingllm paper',
    make: () => streamingllm({ budget: 12 }),
    fromOptions: createStreamingLLM,
    capacity: tokens(12),
    window: 8,
    sinks: 4,
    shape: 'uniform',
  },
  {
    label: 'streamingllm factory',
    make: () => streamingllm({ budget: 12, sinks: 8 }),
    fromOptions: createStreamingLLM,
    capacity: tokens(12),
    window: 4,
    sinks: 8,
    shape: 'uniform',
  },
  {
    label: 'adakv(snapkv)',
    make: () => adakv(snapkv({ budget: 16, window: 4 })),
    fromOptions: createAdaKV,
    capacity: tokens(16),
    window: 4,
    sinks: 0,
    shape: 'adaptive',
    floor: 2,
  },
  {
    label: 'adakv(h2o) alpha 0',
    make: () => adakv(h2o({ budget: 16, window: 4 }), { alpha: 0 }),
    fromOptions: createAdaKV,
    capacity: tokens(16),
    window: 4,
    sinks: 0,
    shape: 'adaptive',
    floor: 0,
  },
  {
    label: 'adakv(pyramidkv)',
    make: () => adakv(pyramidkv({ budget: 14, window: 4 }), { alpha: 0.5 }),
    fromOptions: createAdaKV,
    capacity: tokens(14),
    window: 4,
    sinks: 0,
    shape: 'pyramid',
  },
];
