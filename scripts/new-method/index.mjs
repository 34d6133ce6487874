#!/usr/bin/env node
// pnpm new-method <name>: a working method package (packages/methods-<name>), registered wherever
// the workspace lists methods, installed and built, so that `kvsieve run --method <name>` works.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as t from './templates.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const USAGE = `usage: pnpm new-method <name> [--no-install]

Creates packages/methods-<name>: package.json, tsconfigs, vitest config, src/<name>.ts (a method
declared with defineMethod: a scorer composed with core's score → allocate → select), a README with
a runnable example, and tests that pass as generated. Registers it in the CLI's dependencies, the
conformance matrix (packages/conformance/test/methods.ts) and the root README, then installs and
builds it. <name>: lowercase letters, digits and dashes, starting with a letter.`;

function fail(message) {
  process.stderr.write(`new-method: ${message}\n`);
  process.exit(2);
}

function edit(file, change) {
  const path = join(ROOT, file);
  const before = readFileSync(path, 'utf8');
  const after = change(before);
  if (after === before) fail(`${file}: found nowhere to register the method; add it by hand`);
  writeFileSync(path, after);
  return file;
}

function addDependency(file, section, name) {
  return edit(file, (text) => {
    const pkg = JSON.parse(text);
    // A published dependency gets a caret range (users may mix compatible versions); a dev one
    // is never published, so any workspace version does.
    const range = section === 'dependencies' ? 'workspace:^' : 'workspace:*';
    pkg[section] = Object.fromEntries(
      Object.entries({ ...pkg[section], [name]: range }).sort(([a], [b]) => a.localeCompare(b)),
    );
    return `${JSON.stringify(pkg, null, 2)}\n`;
  });
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const names = args.filter((a) => !a.startsWith('-'));
const unknown = args.filter((a) => a.startsWith('-') && a !== '--no-install');
if (unknown.length > 0) fail(`unknown option ${unknown[0]}\n\n${USAGE}`);
if (names.length !== 1) fail(`give one method name\n\n${USAGE}`);
const name = names[0];
if (!/^[a-z][a-z0-9-]*$/.test(name) || name.endsWith('-')) {
  fail(`"${name}" is not a method name: use lowercase letters, digits and dashes, starting with a letter`);
}
const pkgDir = join(ROOT, 'packages', `methods-${name}`);
if (existsSync(pkgDir)) fail(`packages/methods-${name} exists already; pick another name or edit it`);
const pkgName = `@kvsieve/methods-${name}`;

const files = {
  'package.json': t.packageJson(name),
  'tsconfig.json': t.tsconfig,
  'tsconfig.build.json': t.tsconfigBuild,
  'vitest.config.ts': t.vitestConfig(name),
  'README.md': t.readme(name),
  // Every published package carries the project's license text (lint:packages checks it).
  LICENSE: readFileSync(join(ROOT, 'LICENSE'), 'utf8'),
  'src/index.ts': t.indexTs(name),
  [`src/${name}.ts`]: t.methodTs(name),
  [`test/${name}.test.ts`]: t.methodTest(name),
  'test/readme-example.ts': t.readmeExample(name),
  'test/readme.test.ts': t.readmeTest(),
};
for (const [file, text] of Object.entries(files)) {
  mkdirSync(dirname(join(pkgDir, file)), { recursive: true });
  writeFileSync(join(pkgDir, file), text);
}

const { importLine, entry } = t.matrixEntry(name);
const edited = [
  addDependency('packages/cli/package.json', 'dependencies', pkgName),
  addDependency('packages/conformance/package.json', 'devDependencies', pkgName),
  edit('packages/conformance/test/methods.ts', (text) =>
    text
      .replace(
        /\n(import [^\n]*'@kvsieve\/methods-[^']+';\n)(?!import [^\n]*'@kvsieve\/methods-)/,
        `\n$1${importLine}\n`,
      )
      .replace(/\n\];\s*$/, `\n${entry}\n];\n`),
  ),
  edit('README.md', (text) =>
    text.replace(
      /(\[`-[a-z0-9-]+`\]\(packages\/methods-[a-z0-9-]+\)) \| one compression method each \|/,
      `$1, [\`-${name}\`](packages/methods-${name}) | one compression method each |`,
    ),
  ),
];

const run = (cmd, argv) => {
  try {
    execFileSync(cmd, argv, { cwd: ROOT, stdio: 'inherit' });
  } catch {
    fail(
      `\`${cmd} ${argv.join(' ')}\` failed (its output is above); the package is in packages/methods-${name}`,
    );
  }
};
// Imports in a sorted place, and the generated files in the project's format.
run('npx', ['biome', 'check', '--write', relative(ROOT, pkgDir), 'packages/conformance/test/methods.ts']);
// The README shows the example exactly as formatted (its test compares them).
const example = readFileSync(join(pkgDir, 'test/readme-example.ts'), 'utf8');
writeFileSync(join(pkgDir, 'README.md'), t.readme(name, example));
if (!args.includes('--no-install')) {
  // The lockfile gains the new package: CI=true would otherwise refuse to change it.
  run('pnpm', ['install', '--prefer-offline', '--no-frozen-lockfile']);
  run('pnpm', ['--filter', pkgName, 'build']);
}
process.stdout.write(`
created packages/methods-${name} (${Object.keys(files).length} files); registered in ${edited.join(', ')}
next:
  pnpm vitest run packages/methods-${name}
  pnpm kvsieve run <model> --prompt-file <text> --method ${name} --budget 50%
  edit packages/methods-${name}/src/${name}.ts: the scorer, and the options (kvsieve methods ${name} shows them)
`);
