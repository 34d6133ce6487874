// Package sizes as a user pays for them: the tarball npm downloads, the package's own files once
// installed, and the package with everything it pulls in (its dependency closure in a real npm
// install); and for each entry a browser can load, its bundle alone (Vite, minified, gzip -9).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './project.mjs';

/** Entries that are Node-only by design (they read and write files, or start processes). */
export const NODE_ONLY = new Set([
  'kvsieve',
  '@kvsieve/eval',
  '@kvsieve/conformance',
  '@kvsieve/kernels-webgpu/node',
]);

/** Every export subpath of every public package (`@kvsieve/kernels-webgpu/node`), Node-only ones left out. */
export function browserEntries(packages) {
  const entries = [];
  for (const p of packages) {
    for (const sub of Object.keys(p.manifest.exports ?? { '.': null })) {
      if (sub.includes('*') || sub === './package.json') continue;
      const entry = sub === '.' ? p.name : `${p.name}/${sub.slice(2)}`;
      if (!NODE_ONLY.has(entry)) entries.push(entry);
    }
  }
  return entries;
}

function du(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of readdirSync(path)) n += du(join(path, e));
  return n;
}

/** A package's folder in a flat npm install (`node_modules/@scope/name`). */
function installedDir(projectDir, name) {
  return join(projectDir, 'node_modules', ...name.split('/'));
}

/** Bytes of `name` and every package it depends on (regular and optional), each counted once. */
function closureBytes(projectDir, name) {
  const seen = new Set();
  const visit = (n) => {
    if (seen.has(n)) return;
    let manifest;
    try {
      manifest = JSON.parse(readFileSync(join(installedDir(projectDir, n), 'package.json'), 'utf8'));
    } catch {
      return; // an optional dependency for another platform, not installed
    }
    seen.add(n);
    for (const d of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) visit(d);
  };
  visit(name);
  let bytes = 0;
  for (const n of seen) bytes += du(installedDir(projectDir, n));
  return { bytes, packages: seen.size };
}

export async function measureSizes({ packages, tarballs, projectDir, entries }) {
  const rows = packages.map((p) => ({
    name: p.name,
    packed: statSync(tarballs.get(p.name)).size,
    unpacked: du(installedDir(projectDir, p.name)),
    ...closureBytes(projectDir, p.name),
  }));
  const r = await run('node', ['bundle-sizes.mjs', JSON.stringify(entries)], { cwd: projectDir });
  if (r.code !== 0) throw new Error(`bundle-sizes.mjs failed:\n${r.stderr}`);
  return { rows, bundles: JSON.parse(r.stdout) };
}

export function kib(n) {
  return n < 1024
    ? `${n} B`
    : n < 2 ** 20
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

function markdown(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function sizeTable({ rows, bundles }) {
  const packagesTable = markdown(
    ['package', 'packed', 'installed (own files)', 'installed with dependencies'],
    rows.map((r) => [r.name, kib(r.packed), kib(r.unpacked), `${kib(r.bytes)} (${r.packages} packages)`]),
  );
  const bundleTable = markdown(
    ['browser entry (bundled alone)', 'JS minified', 'JS min + gzip', 'other assets'],
    Object.entries(bundles).map(([e, s]) =>
      s.error
        ? [e, `fails: ${s.error}`, '', '']
        : [e, kib(s.js), kib(s.gzip), s.assets ? kib(s.assets) : '—'],
    ),
  );
  return `${packagesTable}\n\n${bundleTable}`;
}
