// Builds the versioned docs site: every release recorded in docs/versions.json, each from its own
// commit, plus `next` (main) from this working tree, each into its own folder with its own
// VitePress base, and the site root's versions.json that the version switcher reads:
//
//   pnpm docs:versions [--out DIR] [--only VERSION] [--next-ref REF]
//
// Output (DIR defaults to docs/.vitepress/versions): DIR/<version>/ for each release (e.g. 0.1.x),
// DIR/next/, DIR/versions.json and DIR/index.html (a redirect to the newest release that also links
// every version). --only builds one version and keeps the others already in DIR. --next-ref builds
// next from a commit instead of the working tree.
//
// Released versions come from the checked-in manifest, not from `git tag`, because a CI clone may
// have no tags: { "0.1.x": { "tag": "v0.1.0", "commit": "<sha>" } }. A release is built from a
// detached `git worktree` of its tag, or of the recorded commit where the tag is absent (a tag that
// points elsewhere is an error), with that commit's own `pnpm docs:build`, so its pages are exactly
// what its sources said. Its dependencies come from pnpm's content-addressed store: `pnpm install
// --frozen-lockfile --offline` hard-links the packages this checkout already installed, so a
// release whose lockfile matches installs in seconds and without the network; one that needs
// packages the store lacks falls back to a networked install of its own lockfile. (A symlinked
// node_modules would be faster still, but pnpm hoists the workspace packages into
// node_modules/.pnpm/node_modules as links to this checkout's packages/, so a release could
// silently build against main's sources.)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { landing, parseManifest, releaseRef, versionBase, versionList } from './versions-lib.mjs';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const out = resolve(arg('--out') ?? join(root, 'docs/.vitepress/versions'));
const only = arg('--only');
const nextRef = arg('--next-ref');
const git = (...a) => execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();

const releases = parseManifest(readFileSync(join(root, 'docs/versions.json'), 'utf8'));
if (only && only !== 'next' && !releases.some((r) => r.version === only)) {
  throw new Error(
    `docs: --only ${only}: not in docs/versions.json (${releases.map((r) => r.version).join(', ')})`,
  );
}

/** Runs `pnpm docs:build` in `dir` for one version and leaves the site in out/<version>/. */
function buildIn(dir, version) {
  const dest = join(out, version);
  rmSync(dest, { recursive: true, force: true });
  execFileSync('pnpm', ['docs:build'], {
    cwd: dir,
    stdio: 'inherit',
    env: {
      ...process.env,
      DOCS_BASE: versionBase(version),
      DOCS_VERSION: version,
      DOCS_OUT_DIR: dest,
    },
  });
  // A commit from before DOCS_OUT_DIR existed builds into its own dist.
  if (!existsSync(join(dest, 'index.html'))) {
    cpSync(join(dir, 'docs/.vitepress/dist'), dest, { recursive: true });
  }
  if (!existsSync(join(dest, 'index.html'))) throw new Error(`docs: ${version}: no index.html in ${dest}`);
}

/** Builds `ref` in a fresh detached worktree (removed afterwards). */
function buildAt(ref, version) {
  const work = mkdtempSync(join(tmpdir(), `kvsieve-docs-${version}-`));
  try {
    git('worktree', 'add', '--detach', work, ref);
    const pkg = JSON.parse(readFileSync(join(work, 'package.json'), 'utf8'));
    if (!pkg.scripts?.['docs:build']) throw new Error(`docs: ${ref} has no docs:build script`);
    const install = (flags) =>
      execFileSync('pnpm', ['install', '--frozen-lockfile', ...flags], { cwd: work, stdio: 'inherit' });
    try {
      install(['--offline']);
    } catch {
      console.log(`docs: ${version}: the local pnpm store lacks some of ${ref}'s packages; installing them`);
      install(['--prefer-offline']);
    }
    buildIn(work, version);
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', work], { cwd: root, stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  }
}

/** The commit the tag points at in this clone, undefined when the clone has no such tag. */
function tagCommit(tag) {
  try {
    return git('rev-parse', '--verify', '--quiet', `refs/tags/${tag}^{commit}`);
  } catch {
    return undefined;
  }
}

mkdirSync(out, { recursive: true });
const timings = [];
const timed = (version, f) => {
  const t0 = Date.now();
  f();
  timings.push(`${version} ${((Date.now() - t0) / 1000).toFixed(0)} s`);
};
for (const release of releases) {
  if (only && only !== release.version) continue;
  const { ref, via } = releaseRef(release, tagCommit(release.tag));
  try {
    git('cat-file', '-e', `${release.commit}^{commit}`);
  } catch {
    throw new Error(
      `docs: ${release.version}: commit ${release.commit} is not in this clone (a shallow clone? git fetch --unshallow)`,
    );
  }
  console.log(`docs: ${release.version} from ${via} ${ref}`);
  timed(release.version, () => buildAt(ref, release.version));
}
if (!only || only === 'next') {
  console.log(`docs: next from ${nextRef ?? 'the working tree'}`);
  timed('next', () => (nextRef ? buildAt(nextRef, 'next') : buildIn(root, 'next')));
}

// The switcher lists what is in the folder, so a version built by an earlier run stays listed.
const built = ['next', ...releases.map((r) => r.version)].filter((v) =>
  existsSync(join(out, v, 'index.html')),
);
const list = versionList(built);
writeFileSync(join(out, 'versions.json'), `${JSON.stringify(list, null, 2)}\n`);
const to = landing(list);
const links = list.map((v) => `<li><a href="${v.path}">${v.version}</a></li>`).join('');
writeFileSync(
  join(out, 'index.html'),
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>kvsieve docs</title><meta http-equiv="refresh" content="0; url=${to.path}"><link rel="canonical" href="${to.path}"></head><body><p>kvsieve documentation: <a href="${to.path}">${to.version}</a></p><ul>${links}</ul></body></html>\n`,
);
console.log(
  `docs: ${list.map((v) => v.version).join(', ')} in ${out} (${timings.join(', ') || 'nothing rebuilt'})`,
);
