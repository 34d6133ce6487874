// The workspace's publishable packages and their tarballs, shared by lint:packages, the consumer
// tests, the size report and the release scripts, so that all of them judge the same set.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The folders pnpm-workspace.yaml lists (`packages/*`, `apps/*`: one level of `*` only). */
export function workspaceDirs(root = ROOT) {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const globs = [...yaml.matchAll(/^\s+-\s+['"]?([^'"\n]+?)['"]?\s*$/gm)].map((m) => m[1]);
  const dirs = [];
  for (const glob of globs) {
    if (!glob.endsWith('/*') || glob.slice(0, -2).includes('*')) {
      throw new Error(`pnpm-workspace.yaml: ${glob}: only "folder/*" globs are understood here`);
    }
    const parent = join(root, glob.slice(0, -2));
    if (!existsSync(parent)) continue;
    for (const d of readdirSync(parent).sort()) {
      if (existsSync(join(parent, d, 'package.json'))) dirs.push(join(parent, d));
    }
  }
  return dirs;
}

/**
 * Every workspace package that is not `"private": true`: `{ name, version, dir, rel, manifest }`.
 * `rel` is the folder relative to the repository root (packages/core). `root` is the checkout, or
 * the copy a release dry run versions (release.mjs).
 */
export function publicPackages(root = ROOT) {
  return workspaceDirs(root)
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter(({ manifest }) => manifest.private !== true)
    .map(({ dir, manifest }) => ({
      name: manifest.name,
      version: manifest.version,
      dir,
      rel: dir.slice(root.length + 1),
      manifest,
    }));
}

/** `@kvsieve/methods-snapkv@0.1.0` → `kvsieve-methods-snapkv-0.1.0.tgz`, as pnpm and npm name it. */
export function tarballName(name, version) {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

/**
 * `pnpm pack` every public package into `dest` (pnpm turns `workspace:` ranges into real ones).
 * The packages must be built (`pnpm build`): a tarball without `dist` is what a user would get.
 * Returns a map of package name → tarball path.
 */
export function packAll(dest, packages = publicPackages(), root = ROOT) {
  mkdirSync(dest, { recursive: true });
  const filters = packages.flatMap((p) => ['--filter', p.name]);
  execFileSync('pnpm', [...filters, 'pack', '--pack-destination', dest], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const out = new Map();
  for (const p of packages) {
    const file = join(dest, tarballName(p.name, p.version));
    if (!existsSync(file)) throw new Error(`pnpm pack wrote no ${file} for ${p.name}`);
    out.set(p.name, file);
  }
  return out;
}

/** Files of a tarball (paths inside `package/`), read with the system's tar. */
export function tarballFiles(file) {
  return execFileSync('tar', ['-tzf', file], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
}

/** The package.json inside a tarball, as a user's npm reads it. */
export function tarballManifest(file) {
  return JSON.parse(execFileSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' }));
}

/**
 * The tarballs in `dir` (one per package, as packAll writes them), read back as packages:
 * `{ name, version, manifest }` from each tarball's own package.json, and name → path.
 */
export function readTarballs(dir) {
  const packages = [];
  const tarballs = new Map();
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.tgz')) continue;
    const manifest = tarballManifest(join(dir, f));
    packages.push({ name: manifest.name, version: manifest.version, manifest });
    tarballs.set(manifest.name, join(dir, f));
  }
  if (packages.length === 0) throw new Error(`${dir} holds no .tgz files`);
  return { packages, tarballs };
}
