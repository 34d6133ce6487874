// Fresh npm projects outside the workspace that install kvsieve's packages from their tarballs, as
// a user's project installs them from the registry.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tarballManifest } from '../packages/workspace.mjs';

const execFileP = promisify(execFile);

/** Versions of the tools a consumer brings (not kvsieve's): the ones the workspace tests with. */
export const CONSUMER_TOOLS = { typescript: '5.9.3', vite: '8.3.8', '@types/node': '^20.19.0' };

function isInternal(name) {
  return name === 'kvsieve' || name.startsWith('@kvsieve/');
}

/** The kvsieve packages `names` need, themselves included, read from the tarballs' manifests. */
export function internalClosure(names, tarballs) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    const file = tarballs.get(name);
    if (!file) throw new Error(`no tarball for ${name}: it is private or not in the workspace`);
    seen.add(name);
    for (const dep of Object.keys(tarballManifest(file).dependencies ?? {})) if (isInternal(dep)) visit(dep);
  };
  for (const n of names) visit(n);
  return [...seen].sort();
}

/**
 * The environment npm runs in: the caller's, less what pnpm (running this script) exports for
 * itself (npm_config_*, npm_package_*), which would steer npm as if it were inside the workspace.
 */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|PNPM_|pnpm_)/i.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Run a command in `cwd`; resolves { stdout, stderr, code } (never throws on a non-zero exit). */
export async function run(cmd, args, { cwd, env = cleanEnv(), timeout = 300_000 } = {}) {
  try {
    const { stdout, stderr } = await execFileP(cmd, args, {
      cwd,
      env,
      timeout,
      maxBuffer: 64 * 2 ** 20,
    });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    if (typeof e.code !== 'number') throw e;
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.code };
  }
}

/**
 * A new npm project in `dir` whose dependencies are `direct` (kvsieve packages, from tarballs) and
 * `tools` (from the registry). npm `overrides` send every kvsieve package in the closure to its
 * tarball, so the packages' own `^0.1.0` ranges never reach the registry; nothing else is linked.
 * `fixtures` (name → path) are copied in. Resolves with the list of kvsieve packages installed.
 */
export async function createProject(dir, { direct, tarballs, tools = {}, fixtures = {} }) {
  mkdirSync(dir, { recursive: true });
  const closure = internalClosure(direct, tarballs);
  const spec = (name) => `file:${tarballs.get(name)}`;
  const pkg = {
    name: 'kvsieve-consumer',
    private: true,
    type: 'module',
    dependencies: Object.fromEntries(direct.map((n) => [n, spec(n)])),
    devDependencies: tools,
    overrides: Object.fromEntries(closure.map((n) => [n, spec(n)])),
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  for (const [name, from] of Object.entries(fixtures)) cpSync(from, join(dir, name), { recursive: true });
  // --ignore-scripts: no kvsieve package has an install script, and third-party ones may fetch
  // from hosts other than the registry (unreachable in CI); none is needed at run time.
  const r = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', '--ignore-scripts'],
    { cwd: dir, timeout: 600_000 },
  );
  if (r.code !== 0)
    throw new Error(`npm install in ${dir} failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
  return closure;
}
