// The CLI as a user meets it after `npm install kvsieve` and nothing else: `npx kvsieve` finds the
// bin, answers --version, generates with a method it loads by name from its own dependencies, keeps
// results on stdout and failures on stderr, and exits 0 / 2 as its usage promises.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, run } from './project.mjs';

// ANSI escape (ESC [): present when the CLI styles its stderr.
const ESC = '\x1b[';

/**
 * `npx --no-install`: only the project's own node_modules/.bin, never a download of whatever
 * `kvsieve` the registry holds.
 */
function kvsieve(dir, args, env = {}) {
  // The caller's own NO_COLOR / FORCE_COLOR would decide the colour checks for them.
  const base = cleanEnv();
  delete base.NO_COLOR;
  delete base.FORCE_COLOR;
  return run('npx', ['--no-install', 'kvsieve', ...args], { cwd: dir, env: { ...base, ...env } });
}

export async function cliChecks(t, dir, model, version) {
  // The bin is linked where npm puts bins; npx finding it is the user's `npx kvsieve`.
  t.assert.ok(existsSync(join(dir, 'node_modules/.bin/kvsieve')), 'npm linked no kvsieve bin');

  const v = await kvsieve(dir, ['--version']);
  t.assert.strictEqual(v.code, 0, `kvsieve --version: ${v.stderr}`);
  t.assert.strictEqual(v.stdout.trim(), version);

  // --method snapkv resolves @kvsieve/methods-snapkv from the CLI's own dependencies: the user
  // installed no method package.
  const r = await kvsieve(dir, [
    'run',
    model,
    '--prompt',
    'The secret code for magnet is',
    '--max-tokens',
    '6',
    '--method',
    'snapkv',
    '--budget',
    '50%',
    '--json',
  ]);
  t.assert.strictEqual(r.code, 0, `kvsieve run: ${r.stderr}`);
  // stdout is the result alone (parses as one JSON document); anything else went to stderr.
  const summary = JSON.parse(r.stdout);
  t.assert.strictEqual(summary.method, 'snapkv');
  t.assert.strictEqual(summary.generatedTokens, 6);
  t.assert.ok(summary.cache.keptBytes < summary.cache.fullBytes, 'SnapKV at 50% kept the whole cache');

  // Bad input: exit 2, one `kvsieve:` line on stderr, nothing on stdout.
  const missing = join(dir, 'no-such-model');
  const bad = await kvsieve(dir, ['run', missing, '--prompt', 'x']);
  t.assert.strictEqual(bad.code, 2, `a missing model must exit 2: ${bad.stderr}`);
  t.assert.strictEqual(bad.stdout, '');
  t.assert.match(bad.stderr, /^kvsieve: ModelFileError: .*no-such-model.*\n$/);

  // Colour: FORCE_COLOR styles even a pipe (so the check can see it), and NO_COLOR wins over it.
  const forced = await kvsieve(dir, ['run', missing, '--prompt', 'x'], { FORCE_COLOR: '1' });
  t.assert.ok(forced.stderr.includes(ESC), 'FORCE_COLOR=1 gave no styled error');
  const plain = await kvsieve(dir, ['run', missing, '--prompt', 'x'], {
    FORCE_COLOR: '1',
    NO_COLOR: '1',
  });
  t.assert.strictEqual(plain.code, 2);
  t.assert.ok(!plain.stderr.includes(ESC), `NO_COLOR=1 still styled: ${JSON.stringify(plain.stderr)}`);
}
