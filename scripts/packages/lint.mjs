#!/usr/bin/env node
// pnpm lint:packages: what a user installs, checked on the tarballs `pnpm pack` makes (not on the
// workspace, where links and TypeScript sources hide packaging mistakes):
//   publint (strict)            exports/files/main/types point at files that are in the tarball, …
//   @arethetypeswrong/core      types resolve for node16 (ESM) and bundler resolution
//   the project's own rules     README with an install line and an example, LICENSE, CHANGELOG in
//                               files, repository, homepage, keywords, engines, sideEffects, no
//                               workspace: ranges left, internal dependencies as caret ranges, no
//                               tests shipped
// Needs built packages (run `pnpm build` first; `pnpm lint` does). Exit 1 when anything is found.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { packAll, publicPackages, ROOT, tarballFiles, tarballManifest } from './workspace.mjs';

// @arethetypeswrong/core is the library behind the attw command; it is a dependency of the CLI
// package (not hoisted by pnpm), so it is resolved from there.
const attwCli = createRequire(import.meta.url).resolve('@arethetypeswrong/cli/package.json');
const attw = await import(pathToFileURL(createRequire(attwCli).resolve('@arethetypeswrong/core')).href);

// ESM-only packages: CommonJS `require` of them works on Node ≥ 20.19 (require(esm)) but attw's
// node10 and node16-from-CJS columns judge pre-20.19 resolution; attw's own `esm-only` profile
// ignores exactly those two.
const IGNORED_RESOLUTIONS = new Set(['node10', 'node16-cjs']);
const LICENSE = readFileSync(join(ROOT, 'LICENSE'), 'utf8');

/** The project's own packaging rules; each finding says what to change. */
function hygiene(pkg, tarball) {
  const m = pkg.manifest;
  const found = [];
  const need = (ok, text) => {
    if (!ok) found.push(text);
  };
  need(m.license === 'MIT', 'package.json: "license" must be "MIT" (the LICENSE file)');
  need(m.type === 'module', 'package.json: "type" must be "module" (the packages are ESM only)');
  need(
    typeof m.engines?.node === 'string',
    'package.json: "engines": { "node": ">=20.19" } is missing (the oldest Node the project tests)',
  );
  need(
    typeof m.sideEffects === 'boolean' || Array.isArray(m.sideEffects),
    'package.json: "sideEffects" is missing; false when importing a module runs nothing but declarations',
  );
  need(
    m.repository?.directory === pkg.rel && /^git\+https:\/\//.test(m.repository?.url ?? ''),
    `package.json: "repository" must be { "type": "git", "url": "git+https://…", "directory": "${pkg.rel}" }`,
  );
  need(typeof m.homepage === 'string', 'package.json: "homepage" is missing (the package README URL)');
  need(Array.isArray(m.keywords) && m.keywords.length > 0, 'package.json: "keywords" is missing or empty');
  need(
    !m.name.startsWith('@') || m.publishConfig?.access === 'public',
    'package.json: a scoped package needs "publishConfig": { "access": "public" }',
  );
  let readme = '';
  try {
    readme = readFileSync(join(pkg.dir, 'README.md'), 'utf8');
  } catch {
    found.push('README.md is missing');
  }
  const installLine = readme
    .split('\n')
    .some((l) => /^(npm install|npm i|pnpm add) /.test(l) && l.split(/\s+/).includes(m.name));
  need(
    readme === '' || installLine,
    `README.md: no install line (a line "npm install ${m.name}" in a code block)`,
  );
  need(
    readme === '' || /```(ts|js|sh)\n/.test(readme),
    'README.md: no example (a ```ts, ```js or ```sh block)',
  );
  let license = '';
  try {
    license = readFileSync(join(pkg.dir, 'LICENSE'), 'utf8');
  } catch {}
  need(license === LICENSE, `LICENSE is missing or differs from the root LICENSE: cp LICENSE ${pkg.rel}/`);

  need(
    (m.files ?? []).includes('CHANGELOG.md'),
    'package.json: "files" must list "CHANGELOG.md" (pnpm pack leaves out the changelog release:version writes)',
  );
  const files = tarballFiles(tarball);
  for (const f of ['LICENSE', 'README.md', 'package.json']) {
    need(files.includes(f), `the tarball lacks ${f} (add it to "files")`);
  }
  const tests = files.filter((f) => /\.test\.[cm]?[jt]s$/.test(f));
  need(
    tests.length === 0,
    `the tarball ships tests (${tests.slice(0, 3).join(', ')}); keep them out of "files"`,
  );
  const packed = tarballManifest(tarball);
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [dep, range] of Object.entries(packed[field] ?? {})) {
      need(!range.startsWith('workspace:'), `${field}.${dep}: "${range}" survived packing`);
      if (dep.startsWith('@kvsieve/') || dep === 'kvsieve') {
        // An exact pin makes a user's second kvsieve package install its own copy of everything
        // it shares; a caret range lets npm share compatible versions.
        need(
          /^\^\d/.test(range),
          `${field}.${dep}: "${range}" pins one version; use "workspace:^" so users can mix compatible versions`,
        );
      }
    }
  }
  return found;
}

async function typesFindings(tarball) {
  const pkg = attw.createPackageFromTarballData(new Uint8Array(readFileSync(tarball)));
  const result = await attw.checkPackage(pkg);
  if (!result.types) return ['attw: the package has no types'];
  return result.problems
    .filter((p) => !IGNORED_RESOLUTIONS.has(p.resolutionKind))
    .map(
      (p) =>
        `attw: ${p.kind}${p.entrypoint ? ` at "${p.entrypoint}"` : ''}${p.resolutionKind ? ` (${p.resolutionKind})` : ''}: https://github.com/arethetypeswrong/arethetypeswrong.github.io/blob/main/docs/problems/${p.kind}.md`,
    );
}

/**
 * publint, attw and the packaging rules over `tarballs` (name → path) of `packages`; prints one
 * line per package and each finding under it. Resolves with the number of findings.
 */
export async function lintTarballs(packages, tarballs, write = (s) => process.stdout.write(s)) {
  let problems = 0;
  for (const pkg of packages) {
    const tarball = tarballs.get(pkg.name);
    const data = readFileSync(tarball);
    const lint = await publint({
      strict: true,
      pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) },
    });
    const findings = [
      ...lint.messages.map((msg) => `publint ${msg.type}: ${formatMessage(msg, lint.pkg)}`),
      ...(await typesFindings(tarball)),
      ...hygiene(pkg, tarball),
    ];
    problems += findings.length;
    const status = findings.length === 0 ? 'ok' : `${findings.length} problem(s)`;
    write(`${pkg.name.padEnd(32)} ${status}\n`);
    for (const f of findings) write(`  ${pkg.rel}: ${f}\n`);
  }
  write(
    problems === 0
      ? `lint:packages: ${packages.length} packages, nothing found (publint, attw, packaging rules)\n`
      : `lint:packages: ${problems} problem(s) in ${packages.length} packages\n`,
  );
  return problems;
}

async function main() {
  const packages = publicPackages();
  const dest = mkdtempSync(join(tmpdir(), 'kvsieve-lint-packages-'));
  try {
    return (await lintTarballs(packages, packAll(dest, packages))) === 0 ? 0 : 1;
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`lint:packages: ${err instanceof Error ? err.message : err}\n`);
      process.exit(1);
    },
  );
}
