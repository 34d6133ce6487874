import { OptionError } from '@kvsieve/core';
import type { SegmentEncoder } from './encoder.js';
import type { Haystack } from './haystack.js';
import { niahSample } from './niah.js';
import { Rng } from './random.js';
import type { NiahTemplate } from './templates.js';
import type { TaskSample } from './types.js';
import { variableTrackingSample } from './variable-tracking.js';
import { commonWordsSample, frequentWordsSample } from './word-lists.js';

/** What every generated task's samples are built with, shared by a sweep. */
export interface TaskSettings {
  /** The model's tokenizer, encoding piece by piece. */
  readonly enc: SegmentEncoder;
  /** Wording of the needle tasks (the other tasks have their own). */
  readonly template: NiahTemplate;
  /** Filler text of the needle and variable-tracking tasks. */
  readonly haystack: Haystack;
  /** Overrides every task's default generation limit. */
  readonly maxNewTokens?: number;
}

/** Which sample of a task to generate; the same request always gives the same sample. */
export interface SampleRequest {
  /** Sample number, from 0. */
  readonly index: number;
  /** Prompt length in tokens. */
  readonly length: number;
  /** Needle depth in percent; ignored (null) by tasks without one. */
  readonly depth: number | null;
  /** The sweep's seed, combined with the task, length, depth and index. */
  readonly seed: number;
}

/** A generated task: RULER's defaults (shape, generation limit), its own seeded samples. */
export interface TaskDefinition {
  /** Task name as given on the command line (`niah_single`, `vt`, `cwe`, ...). */
  readonly name: string;
  /** Whether samples are placed at a depth (the NIAH heatmap's rows). */
  readonly usesDepth: boolean;
  /** RULER's generation limit for the task. */
  readonly maxNewTokens: number;
  /** Generate the sample `r` asks for; throws an `OptionError` when the length is too short for its fixed parts. */
  sample(settings: TaskSettings, r: SampleRequest): TaskSample;
}

function niah(name: string, keys: number, valuesPerKey: number, queries: number): TaskDefinition {
  return {
    name,
    usesDepth: true,
    maxNewTokens: 128,
    sample: (s, r) =>
      niahSample(
        { ...s, maxNewTokens: s.maxNewTokens ?? 128 },
        { keys, valuesPerKey, queries },
        {
          task: name,
          index: r.index,
          length: r.length,
          depth: r.depth ?? 50,
          rng: new Rng(r.seed, name, r.length, r.depth, r.index),
        },
      ),
  };
}

const DEFINITIONS: readonly TaskDefinition[] = [
  niah('niah_single', 1, 1, 1),
  niah('niah_multikey', 4, 1, 1),
  niah('niah_multivalue', 1, 4, 1),
  niah('niah_multiquery', 4, 1, 4),
  {
    name: 'vt',
    usesDepth: false,
    maxNewTokens: 30,
    sample: (s, r) =>
      variableTrackingSample(
        { ...s, maxNewTokens: s.maxNewTokens ?? 30 },
        { chains: 1, hops: 4 },
        { task: 'vt', index: r.index, length: r.length, rng: new Rng(r.seed, 'vt', r.length, r.index) },
      ),
  },
  {
    name: 'cwe',
    usesDepth: false,
    maxNewTokens: 120,
    sample: (s, r) =>
      commonWordsSample(
        { enc: s.enc, maxNewTokens: s.maxNewTokens ?? 120 },
        { common: 10, commonFreq: 30, rareFreq: 3 },
        { task: 'cwe', index: r.index, length: r.length, rng: new Rng(r.seed, 'cwe', r.length, r.index) },
      ),
  },
  {
    name: 'fwe',
    usesDepth: false,
    maxNewTokens: 50,
    sample: (s, r) =>
      frequentWordsSample(
        { enc: s.enc, maxNewTokens: s.maxNewTokens ?? 50 },
        { top: 3, alpha: 2, vocabulary: 200 },
        { task: 'fwe', index: r.index, length: r.length, rng: new Rng(r.seed, 'fwe', r.length, r.index) },
      ),
  },
];

/** Every generated task by name. */
export const TASKS: ReadonlyMap<string, TaskDefinition> = new Map(DEFINITIONS.map((d) => [d.name, d]));

/** The generated task called `name`; throws an `OptionError` listing the tasks for an unknown name. */
export function taskByName(name: string): TaskDefinition {
  const t = TASKS.get(name);
  if (!t) {
    throw new OptionError(
      `task ${JSON.stringify(name)} is unknown; the tasks are ${[...TASKS.keys()].join(', ')}`,
    );
  }
  return t;
}
