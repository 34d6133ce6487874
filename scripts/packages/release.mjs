#!/usr/bin/env node
// pnpm release:publish [--dry-run]: publish exactly the tarballs that were checked.
//   1. build every package (turbo);
//   2. --dry-run: version a copy of the workspace's publishable files with `changeset version` (the
//      versions and CHANGELOG.md files `pnpm release:version` would write), so the dry run packs
//      what the next release would; a real run packs the checkout, versioned and committed already;
//   3. pack each public package once, into one folder;
//   4. lint:packages (publint, attw, packaging rules) and the consumer tests on those files;
//   5. `npm publish <tarball>` for each: --dry-run makes npm list what it would upload and send
//      nothing; a real run skips versions the registry has, then tags them (`changeset tag`).
// The tarball npm publishes is the file the checks read, not a re-pack of the folder.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { lintTarballs } from './lint.mjs';
import { packAll, publicPackages, ROOT, workspaceDirs } from './workspace.mjs';

class ReleaseError extends Error {
  name = 'ReleaseError';
}

const dryRun = process.argv.includes('--dry-run');
const say = (line) => process.stdout.write(`release: ${line}\n`);

function sh(cmd, args, cwd = ROOT) {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) throw new ReleaseError(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
}

/**
 * The workspace as `changeset version` and `pnpm pack` see it, in `dir`: the root manifest and
 * workspace file, .changeset/, each package's manifest and node_modules (pnpm's relative links, so
 * that a package's @kvsieve/core is the copy's, versioned, and pack can resolve `workspace:`), and
 * for public packages their README, LICENSE, CHANGELOG and `files` (dist built in step 1).
 */
function copyWorkspace(dir) {
  for (const f of ['package.json', 'pnpm-workspace.yaml', 'LICENSE', '.changeset']) {
    cpSync(join(ROOT, f), join(dir, f), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const pub = new Map(publicPackages().map((p) => [p.dir, p]));
  for (const from of workspaceDirs()) {
    const to = join(dir, relative(ROOT, from));
    mkdirSync(to, { recursive: true });
    const files = ['package.json', 'node_modules'];
    const p = pub.get(from);
    if (p) files.push('README.md', 'LICENSE', 'CHANGELOG.md', ...(p.manifest.files ?? []));
    for (const f of new Set(files)) {
      if (existsSync(join(from, f))) {
        cpSync(join(from, f), join(to, f), { recursive: true, verbatimSymlinks: true });
      }
    }
  }
}

/** Versions npm's registry already has for `name@version` (a real run publishes the rest only). */
function published(name, version) {
  const r = spawnSync('npm', ['view', `${name}@${version}`, 'version'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === version;
}

async function main() {
  sh('pnpm', ['build', '--output-logs=errors-only']);
  const work = mkdtempSync(join(tmpdir(), 'kvsieve-release-'));
  try {
    let root = ROOT;
    if (dryRun) {
      root = join(work, 'workspace');
      mkdirSync(root);
      copyWorkspace(root);
      const pending = readdirSync(join(root, '.changeset')).filter((f) => f.endsWith('.md'));
      say(`changeset version on a copy of the workspace (${pending.length} changeset(s))`);
      sh(join(ROOT, 'node_modules/.bin/changeset'), ['version'], root);
    } else if (execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim()) {
      throw new ReleaseError('the checkout has uncommitted changes: commit `pnpm release:version` first');
    }
    const packages = publicPackages(root);
    const tarballs = packAll(join(work, 'tarballs'), packages, root);
    for (const p of packages) {
      const log = join(p.dir, 'CHANGELOG.md');
      const notes = existsSync(log)
        ? `CHANGELOG.md ${readFileSync(log, 'utf8').split('\n').length} lines`
        : 'no CHANGELOG.md';
      say(`${p.name}@${p.version} (${notes})`);
    }

    if ((await lintTarballs(packages, tarballs)) !== 0)
      throw new ReleaseError('lint:packages found problems');
    say('the consumer tests on these tarballs');
    sh('node', [join(ROOT, 'scripts/consumer/run.mjs'), '--tarballs', join(work, 'tarballs')]);

    for (const p of packages) {
      if (!dryRun && published(p.name, p.version)) {
        say(`${p.name}@${p.version} is on the registry already: skipped`);
        continue;
      }
      const file = tarballs.get(p.name);
      const sha = createHash('sha1').update(readFileSync(file)).digest('hex');
      say(`npm publish ${basename(file)} (sha1 ${sha}, the file checked above)`);
      const args = ['publish', file, '--access', 'public', '--loglevel=warn'];
      sh('npm', dryRun ? [...args, '--dry-run'] : args, work);
    }
    if (!dryRun) sh(join(ROOT, 'node_modules/.bin/changeset'), ['tag']);
    say(dryRun ? `dry run done: ${packages.length} tarballs checked, nothing sent` : 'published');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`release: ${err instanceof ReleaseError ? err.message : (err?.stack ?? err)}\n`);
  process.exit(1);
});
