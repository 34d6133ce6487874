// Builds every released version of the docs, each into its own path, plus `next` from a ref
// (default HEAD), and the site root's versions.json that the version switcher reads:
//
//   node docs/scripts/versions.mjs [--out DIR] [--next REF] [--only-next]
//
// Released versions are the git tags of the CLI package as changesets writes them (kvsieve@X.Y.Z)
// or plain vX.Y.Z tags. Each version is built from a clean worktree of its tag (pnpm install
// --frozen-lockfile, then that tag's own `pnpm docs:build` with DOCS_BASE=/X.Y.Z/), so a version's
// pages are exactly what its sources said. A tag from before the docs site existed has no
// docs:build script and is reported and skipped. Output: DIR/next/, DIR/X.Y.Z/, DIR/versions.json
// and DIR/index.html (a redirect to the newest release, or to next).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const out = resolve(arg('--out', join(root, 'docs/.vitepress/versions')));
const nextRef = arg('--next', 'HEAD');
const onlyNext = process.argv.includes('--only-next');
const git = (...a) => execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();

/** Released versions, newest first: [{ version, tag }]. */
function releases() {
  const tags = git('tag', '--list').split('\n').filter(Boolean);
  const seen = new Map();
  for (const tag of tags) {
    const m = tag.match(/^(?:kvsieve@|v)(\d+\.\d+\.\d+(?:-[\w.]+)?)$/);
    if (m && !seen.has(m[1])) seen.set(m[1], tag);
  }
  const num = (v) => v.split(/[.-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  return [...seen]
    .map(([version, tag]) => ({ version, tag }))
    .sort((a, b) => {
      const [x, y] = [num(a.version), num(b.version)];
      for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return y[i] - x[i];
      return a.version < b.version ? 1 : -1;
    });
}

/** Build one ref's docs into out/<version>/; false when that ref has no docs site. */
function build(ref, version) {
  const work = mkdtempSync(join(tmpdir(), `kvsieve-docs-${version}-`));
  try {
    git('worktree', 'add', '--detach', work, ref);
    const pkg = JSON.parse(readFileSync(join(work, 'package.json'), 'utf8'));
    if (!pkg.scripts?.['docs:build']) {
      console.log(`docs: ${ref} has no docs:build script (before the docs site): skipped`);
      return false;
    }
    const run = (cmd, args, env = {}) =>
      execFileSync(cmd, args, { cwd: work, stdio: 'inherit', env: { ...process.env, ...env } });
    run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline']);
    run('pnpm', ['docs:build'], { DOCS_BASE: `/${version}/`, DOCS_VERSION: version });
    const dest = join(out, version);
    rmSync(dest, { recursive: true, force: true });
    cpSync(join(work, 'docs/.vitepress/dist'), dest, { recursive: true });
    console.log(`docs: ${ref} → ${dest}`);
    return true;
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', work], { cwd: root, stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  }
}

mkdirSync(out, { recursive: true });
const built = [];
if (build(nextRef, 'next')) built.push({ version: 'next', path: '/next/' });
if (!onlyNext) {
  for (const { version, tag } of releases()) {
    if (build(tag, version)) built.push({ version, path: `/${version}/` });
  }
}
if (built.length === 0) throw new Error('docs: nothing was built');
writeFileSync(join(out, 'versions.json'), `${JSON.stringify(built, null, 2)}\n`);
const landing = built.find((v) => v.version !== 'next') ?? built[0];
writeFileSync(
  join(out, 'index.html'),
  `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=${landing.path}"><link rel="canonical" href="${landing.path}"><a href="${landing.path}">kvsieve docs ${landing.version}</a>\n`,
);
console.log(
  `docs: ${built.map((v) => v.version).join(', ')} in ${out}${existsSync(out) ? '' : ' (missing)'}`,
);
