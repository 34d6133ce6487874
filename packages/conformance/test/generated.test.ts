import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeF32,
  encodeF32,
  formatReport,
  type MainIO,
  main,
  runConformance,
  VectorFileError,
} from '../src/index.js';
import {
  allChecks,
  type CheckJson,
  randomInputs,
  snapkvKept,
  vectorFileJson,
  type WindowParams,
} from './reference.js';

interface Case {
  readonly seed: number;
  readonly H: number;
  readonly Hkv: number;
  readonly L: number;
  readonly d: number;
  readonly spread: number;
  readonly p: WindowParams;
  readonly beta: number;
  readonly numLayers: number;
  readonly alpha: number;
}

// Shapes, GQA ratios (1, 2, 3, 4, 8), windows (1 … 16), kernels (1 … 9), capacities and layer
// counts the shared golden files do not have, including the PyramidKV fallbacks (L < C, L < 2·base).
const CASES: readonly Case[] = [
  {
    seed: 1,
    H: 8,
    Hkv: 1,
    L: 97,
    d: 8,
    spread: 1.5,
    p: { window: 4, capacity: 24, kernel: 3, pooling: 'avgpool', gqaReduce: 'mean' },
    beta: 20,
    numLayers: 3,
    alpha: 0.2,
  },
  {
    seed: 2,
    H: 6,
    Hkv: 3,
    L: 150,
    d: 12,
    spread: 1.2,
    p: { window: 1, capacity: 40, kernel: 9, pooling: 'maxpool', gqaReduce: 'sum' },
    beta: 10,
    numLayers: 5,
    alpha: 0.2,
  },
  {
    seed: 3,
    H: 4,
    Hkv: 4,
    L: 64,
    d: 16,
    spread: 1,
    p: { window: 16, capacity: 17, kernel: 1, pooling: 'avgpool', gqaReduce: 'max' },
    beta: 20,
    numLayers: 2,
    alpha: 0.5,
  },
  {
    seed: 4,
    H: 2,
    Hkv: 1,
    L: 33,
    d: 4,
    spread: 2,
    p: { window: 8, capacity: 40, kernel: 5, pooling: 'avgpool', gqaReduce: 'mean' },
    beta: 20,
    numLayers: 4,
    alpha: 0.2,
  },
  {
    seed: 5,
    H: 8,
    Hkv: 2,
    L: 50,
    d: 8,
    spread: 1.5,
    p: { window: 6, capacity: 30, kernel: 7, pooling: 'maxpool', gqaReduce: 'max' },
    beta: 20,
    numLayers: 7,
    alpha: 0.2,
  },
  {
    seed: 6,
    H: 8,
    Hkv: 2,
    L: 45,
    d: 8,
    spread: 1.5,
    p: { window: 6, capacity: 30, kernel: 5, pooling: 'avgpool', gqaReduce: 'sum' },
    beta: 3,
    numLayers: 3,
    alpha: 0,
  },
  {
    seed: 7,
    H: 12,
    Hkv: 4,
    L: 211,
    d: 6,
    spread: 1.8,
    p: { window: 12, capacity: 60, kernel: 3, pooling: 'avgpool', gqaReduce: 'mean' },
    beta: 20,
    numLayers: 12,
    alpha: 0.3,
  },
  // The budget boundary: a prompt exactly at the budget, and one token over it.
  {
    seed: 8,
    H: 4,
    Hkv: 2,
    L: 40,
    d: 8,
    spread: 1.5,
    p: { window: 5, capacity: 40, kernel: 5, pooling: 'avgpool', gqaReduce: 'mean' },
    beta: 20,
    numLayers: 3,
    alpha: 0.2,
  },
  {
    seed: 9,
    H: 4,
    Hkv: 2,
    L: 41,
    d: 8,
    spread: 1.5,
    p: { window: 5, capacity: 40, kernel: 5, pooling: 'maxpool', gqaReduce: 'mean' },
    beta: 20,
    numLayers: 3,
    alpha: 0.2,
  },
];

let dir = '';
const io = (): MainIO & { lines: string[]; errors: string[] } => {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l) };
};

function caseFile(c: Case): { name: string; json: Record<string, unknown>; checks: CheckJson[] } {
  const x = randomInputs(c.seed, c.H, c.Hkv, c.L, c.d, c.spread);
  const checks = allChecks(x, c.p, c);
  const name = `gen-${c.seed}-q${c.H}kv${c.Hkv}L${c.L}d${c.d}`;
  return { name, json: vectorFileJson(name, x, checks), checks };
}

let expectedChecks = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kvsieve-vectors-'));
  for (const c of CASES) {
    const f = caseFile(c);
    expectedChecks += f.checks.length;
    writeFileSync(join(dir, `${f.name}.json`), JSON.stringify(f.json));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('conformance on vectors from an independent implementation', () => {
  it('passes every check of every generated file', async () => {
    const report = await runConformance([dir]);
    expect(report.failed, formatReport(report)).toBe(0);
    expect(report.passed).toBe(expectedChecks);
    // Every method and both pyramid fallbacks are exercised.
    for (const m of ['snapkv', 'pyramidkv', 'h2o', 'streamingllm', 'adakv']) {
      expect(report.results.some((r) => r.name.includes(`: ${m}-`))).toBe(true);
    }
  }, 60_000);

  it('prints "N passed, M failed" through main and exits 0', async () => {
    const out = io();
    expect(await main([dir], out)).toBe(0);
    expect(out.lines.at(-1)).toBe(`${expectedChecks} passed, 0 failed`);
  }, 60_000);

  it('treats positions tied at the boundary score as interchangeable (max-pooling plateaus)', async () => {
    const c = CASES[1]!; // kernel 9 max pooling: wide plateaus
    const x = randomInputs(c.seed, c.H, c.Hkv, c.L, c.d, c.spread);
    const { kept, scores } = snapkvKept(x, c.p);
    let swapped = false;
    for (let h = 0; h < kept.length && !swapped; h++) {
      const prefix = kept[h]!.filter((p) => p < c.L - c.p.window);
      const boundary = Math.min(...prefix.map((p) => Math.fround(scores[h]![p]!)));
      const inside = prefix.find((p) => Math.fround(scores[h]![p]!) === boundary);
      const outside = scores[h]!.findIndex((s, p) => Math.fround(s) === boundary && !prefix.includes(p));
      if (inside !== undefined && outside >= 0) {
        kept[h] = [...kept[h]!.filter((p) => p !== inside), outside].sort((a, b) => a - b);
        swapped = true;
      }
    }
    expect(swapped, 'the seed must produce a plateau crossing the boundary').toBe(true);
    const file = join(dir, 'tie', 'tie.json');
    rmSync(join(dir, 'tie'), { recursive: true, force: true });
    (await import('node:fs')).mkdirSync(join(dir, 'tie'));
    writeFileSync(
      file,
      JSON.stringify(
        vectorFileJson('tie', x, [
          {
            name: 'snapkv-tie',
            method: 'snapkv',
            params: { ...c.p },
            kept,
            pooledScores: encodeF32(scores.flat()),
          },
        ]),
      ),
    );
    const report = await runConformance([file]);
    expect(report.failed, formatReport(report)).toBe(0);
    rmSync(join(dir, 'tie'), { recursive: true, force: true });
  });
});

describe('a corrupted vector file reports failures', () => {
  it('reports a wrong kept position, off scores, an unknown method and a broken file, one line each', async () => {
    const c = CASES[0]!;
    const f = caseFile(c);
    const checks = f.json.checks as CheckJson[];
    const snap = checks.find((k) => k.method === 'snapkv')!;
    const scores = decodeF32(snap.pooledScores!, 'scores');
    const prefix = c.L - c.p.window;
    // Swap head 0's best kept prefix position for its worst unkept one.
    const row = Array.from(scores.subarray(0, prefix));
    const kept0 = snap.kept[0]!.filter((p) => p < prefix);
    const best = kept0.reduce((a, b) => (row[b]! > row[a]! ? b : a));
    const worst = row
      .map((_, i) => i)
      .filter((i) => !kept0.includes(i))
      .reduce((a, b) => (row[b]! < row[a]! ? b : a));
    snap.kept[0] = [...snap.kept[0]!.filter((p) => p !== best), worst].sort((a, b) => a - b);
    // Scores 1% off in one place.
    const off = Float32Array.from(scores);
    off[5] = off[5]! * 1.01;
    const h2o = checks.find((k) => k.method === 'h2o')!;
    const streaming = checks.find((k) => k.method === 'streamingllm')!;
    streaming.kept = streaming.kept.map((r) =>
      r.map((p) => (p === 0 ? 1 : p)).filter((p, i, a) => i === 0 || p !== a[i - 1]),
    );
    const corrupted = {
      ...f.json,
      checks: [
        { ...snap, name: 'bad-kept' },
        {
          ...snap,
          name: 'bad-scores',
          kept: checks.find((k) => k.method === 'snapkv')!.kept,
          pooledScores: encodeF32(off),
        },
        { ...h2o, name: 'unknown-method', method: 'lru' },
        { ...streaming, name: 'bad-streaming' },
        { ...h2o, name: 'bad-params', params: { ...h2o.params, window: 0 } },
      ],
    };
    const bad = mkdtempSync(join(tmpdir(), 'kvsieve-corrupt-'));
    try {
      writeFileSync(join(bad, 'corrupt.json'), JSON.stringify(corrupted));
      writeFileSync(
        join(bad, 'truncated.json'),
        JSON.stringify({ ...f.json, query: encodeF32(new Float32Array(10)) }),
      );
      writeFileSync(join(bad, 'not-json.json'), '{"name": ');
      const report = await runConformance([bad]);
      const byName = (s: string) => report.results.find((r) => r.name.endsWith(s));
      expect(report.passed).toBe(0);
      expect(report.failed).toBe(7);
      expect(byName('bad-kept')!.problems.join()).toMatch(
        new RegExp(
          `KV head 0: .*kept but not in the reference: \\[${best} .*in the reference but not kept: \\[${worst} `,
        ),
      );
      expect(byName('bad-scores')!.problems.join()).toMatch(
        /scores: 1 of \d+ scores outside rtol 0.0001; worst at flat index 5/,
      );
      expect(byName('unknown-method')!.problems.join()).toMatch(
        /unknown method "lru"; known: snapkv, pyramidkv, h2o, streamingllm, adakv/,
      );
      expect(byName('bad-streaming')!.problems.join()).toMatch(
        /KV head 0: keeps 24 positions, the reference 23.*kept but not in the reference: \[0\]/,
      );
      expect(byName('bad-params')!.problems.join()).toMatch(
        /OptionError: h2o: option "window" must be an integer ≥ 1/,
      );
      expect(byName('truncated.json')!.problems.join()).toMatch(
        /truncated\.json: "query" must be 6208 float32 values \[8, 97, 8\], got "10 values"/,
      );
      expect(byName('not-json.json')!.problems.join()).toMatch(/not-json\.json: not readable JSON/);

      const out = io();
      expect(await main([bad], out)).toBe(1);
      expect(out.lines.filter((l) => l.startsWith('FAIL '))).toHaveLength(7);
      expect(out.lines.at(-1)).toBe('0 passed, 7 failed');
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  }, 60_000);

  it('rejects a missing path, no path and unknown flags with exit status 2', async () => {
    await expect(runConformance([join(dir, 'nope.json')])).rejects.toThrow(VectorFileError);
    await expect(runConformance([join(dir, 'nope.json')])).rejects.toThrow(
      /nope\.json: no such file or folder/,
    );
    for (const argv of [[join(dir, 'nope.json')], [], ['--tolerance', '1', dir], ['--rtol', 'x', dir]]) {
      const out = io();
      expect(await main(argv, out)).toBe(2);
      expect(out.errors.join('\n')).toMatch(/usage: kvsieve conformance/);
    }
    const out = io();
    expect(await main(['--help'], out)).toBe(0);
    expect(out.lines[0]).toMatch(/^usage: kvsieve conformance/);
  });
});
