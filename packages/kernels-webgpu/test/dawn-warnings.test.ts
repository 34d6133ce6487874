import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAWN_LIMIT_WARNING, DawnWarningFilter } from '../src/node.js';

const NOTICES = [
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n',
  'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 500000 to 16 to fit dynamic offset allocation limit.\n',
];

/** Feed `chunks` through a filter; returns each write it made. */
function filtered(chunks: readonly string[]): string[] {
  const writes: string[] = [];
  const f = new DawnWarningFilter((t) => writes.push(t));
  for (const c of chunks) f.push(c);
  f.end();
  return writes;
}

describe('DawnWarningFilter', () => {
  it('drops exactly the two notices, whole lines only, however the text is split', () => {
    const similar = `${NOTICES[0]!.trimEnd()} (and more)\n`;
    const text = `before\n${NOTICES[0]}middle\n${NOTICES[1]}${similar}Warning: something else\nafter`;
    const want = `before\nmiddle\n${similar}Warning: something else\nafter`;
    expect(filtered([text]).join('')).toBe(want);
    expect(filtered([...text]).join('')).toBe(want); // one character at a time
    expect(filtered([NOTICES[0]!.replace('\n', '\r\n')]).join('')).toBe('');
    expect(DAWN_LIMIT_WARNING.test(NOTICES[1]!.trimEnd())).toBe(true);
  });

  it('does not hold back text that cannot be a notice (progress lines without a newline)', () => {
    const writes: string[] = [];
    const f = new DawnWarningFilter((t) => writes.push(t));
    f.push('\rprefill [##..] 2/4');
    expect(writes).toEqual(['\rprefill [##..] 2/4']);
    f.push('\rprefill [####] 4/4\n');
    expect(writes.join('')).toBe('\rprefill [##..] 2/4\rprefill [####] 4/4\n');
    // A line that starts like a notice waits for its end, then goes through if it is not one.
    f.push('Warning: maxDynamic');
    expect(writes).toHaveLength(2);
    f.push('Uniform… something new\n');
    expect(writes.join('')).toContain('Warning: maxDynamicUniform… something new\n');
    f.push('unfinished');
    f.end();
    expect(writes.at(-1)).toBe('unfinished');
  });
});

// The real thing: a child Node process that creates a WebGPU backend on Dawn, relaunching itself
// through the helper first. The fixture is bundled from source so no build is needed.
describe('relaunchWithoutDawnWarnings', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  let dir = '';
  let script = '';
  beforeAll(async () => {
    // Inside the package, so that the fixture's `import('webgpu')` resolves as the package's does.
    const cache = join(here, '../node_modules/.cache');
    mkdirSync(cache, { recursive: true });
    dir = mkdtempSync(join(cache, 'kvsieve-dawn-'));
    script = join(dir, 'child.mjs');
    await build({
      entryPoints: [join(here, 'fixtures/dawn-child.ts')],
      outfile: script,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      conditions: ['@kvsieve/source'],
      external: ['webgpu'],
      logLevel: 'silent',
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const env = { ...process.env };
      delete env.KVSIEVE_FILTERED_STDERR;
      const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('by default the backend works and stderr has no "artificially reduced" line, only our own', async () => {
    const { code, stdout, stderr } = await run();
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ doubled: [2, 4], interactive: false });
    expect(stderr).not.toMatch(/artificially reduced/);
    expect(stderr).toContain('a line of our own\n');
  });

  it('with verbose the notices come through', async () => {
    const { code, stdout, stderr } = await run('--verbose');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).doubled).toEqual([2, 4]);
    expect(stderr).toMatch(
      /^Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from \d+/m,
    );
    expect(stderr).toMatch(
      /^Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from \d+/m,
    );
    expect(stderr).toContain('a line of our own\n');
  });

  it("the parent exits with the child's code", async () => {
    const { code, stderr } = await run('--exit=3');
    expect(code).toBe(3);
    expect(stderr).not.toMatch(/artificially reduced/);
  });
});
