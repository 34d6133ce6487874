import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadModel, ModelFileError } from '../src/index.js';
import { randomWeights, TINY, writeHfFolder, writeSafetensors } from './fixtures/tiny-model.js';

/** Every path the loader asks the file system about, to prove what it never touches. */
const touched: string[] = [];

// The runtime reaches node:fs through process.getBuiltinModule (so that browser bundles need no
// fs): answer it with a file system that records every path it is asked about.
{
  const real = process.getBuiltinModule('node:fs');
  const spy =
    <A extends unknown[], R>(f: (p: string, ...rest: A) => R) =>
    (p: string, ...rest: A): R => {
      touched.push(String(p));
      return f(p, ...rest);
    };
  const wrapped = {
    ...real,
    existsSync: spy(real.existsSync as (p: string) => boolean),
    statSync: spy(real.statSync as (p: string) => ReturnType<typeof real.statSync>),
    lstatSync: spy(real.lstatSync as (p: string) => ReturnType<typeof real.lstatSync>),
    openSync: spy(real.openSync as (p: string, flags: string) => number),
    readFileSync: spy(real.readFileSync as (p: string, o: unknown) => string),
  };
  const original = process.getBuiltinModule.bind(process);
  vi.spyOn(process, 'getBuiltinModule').mockImplementation(((id: string) =>
    id === 'node:fs' || id === 'fs' ? wrapped : original(id)) as typeof process.getBuiltinModule);
}

/** A model folder whose index names `shard` for every tensor, and a valid shard outside it. */
function folderNaming(shard: (outside: string) => string): { dir: string; outside: string } {
  const root = mkdtempSync(join(tmpdir(), 'kvsieve-escape-'));
  const outside = join(root, 'outside.safetensors');
  writeSafetensors(outside, randomWeights(TINY, 4));
  const dir = join(root, 'model');
  mkdirSync(dir);
  writeHfFolder(TINY, { dir });
  rmSync(join(dir, 'model.safetensors'));
  const map: Record<string, string> = {};
  for (const name of randomWeights(TINY, 4).keys()) map[name] = shard(outside);
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: map }));
  return { dir, outside };
}

describe('an index cannot make kvsieve read outside the model folder', () => {
  it.each([
    ['a ../ path', () => '../outside.safetensors'],
    ['a deeper ../ path', () => 'sub/../../outside.safetensors'],
    ['a backslash ..\\ path', () => '..\\outside.safetensors'],
    ['an absolute path', (outside: string) => outside],
  ])('%s is refused and the file outside is never opened', async (_, shard) => {
    const { dir, outside } = folderNaming(shard);
    touched.length = 0;
    const err = await loadModel(dir).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as Error).message).toMatch(/names shard .*, which is outside the model folder/);
    expect(touched.length).toBeGreaterThan(0);
    const inside = resolve(dir);
    for (const p of touched) {
      const r = resolve(p);
      expect(r === inside || r.startsWith(`${inside}/`), `touched ${p}`).toBe(true);
    }
    expect(touched.map((p) => resolve(p))).not.toContain(resolve(outside));
  });

  it('the spy sees shard opens: a ../ that stays inside the folder loads and is opened', async () => {
    const { dir } = folderNaming(() => 'sub/../weights.safetensors');
    writeSafetensors(join(dir, 'weights.safetensors'), randomWeights(TINY, 4));
    touched.length = 0;
    const model = await loadModel(dir);
    expect(touched.map((p) => resolve(p))).toContain(resolve(dir, 'weights.safetensors'));
    model.dispose();
  });
});
