import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describeShared } from '@kvsieve/test-utils';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const pkg = fileURLToPath(new URL('..', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const MODEL = 'models/stories260K/stories260K.gguf';

describeShared('fidelity command', [MODEL], (shared) => {
  it('prints a row per method and budget, and one line for a bad option', async () => {
    const args = ['--conditions=@kvsieve/source', 'bin/fidelity.ts', '--model', `${shared}/${MODEL}`];
    const { stdout } = await run(
      tsx,
      [...args, '--prompt-tokens', '120', '--tokens', '4', '--budgets', '50%'],
      {
        cwd: pkg,
      },
    );
    for (const m of ['snapkv', 'pyramidkv', 'streamingllm', 'h2o', 'adakv(snapkv)']) {
      expect(stdout).toMatch(new RegExp(`\\| ${m.replace(/[()]/g, '\\$&')} \\| 50% \\| .* \\| \\d/4 \\(`));
    }
    expect(stdout).toContain('| full cache | 100% |');
    const bad = run(tsx, [...args, '--budgets', '150%'], { cwd: pkg });
    await expect(bad).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/error: --budgets: "150%"/),
    });
  });
});
