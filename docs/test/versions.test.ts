// The versioned site's rules without a build: the manifest that docs/scripts/versions.mjs builds
// from, the list the switcher reads, and the checked-in docs/versions.json against git.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  landing,
  parseManifest,
  releaseRef,
  siteRoot,
  switcherEntries,
  versionBase,
  versionList,
} from '../scripts/versions-lib.mjs';

const docs = dirname(dirname(fileURLToPath(import.meta.url)));
const root = dirname(docs);
const sha = (c: string) => c.repeat(40);

describe('parseManifest', () => {
  it('returns releases newest first', () => {
    const text = JSON.stringify({
      '0.1.x': { tag: 'v0.1.0', commit: sha('a') },
      '0.10.x': { tag: 'kvsieve@0.10.2', commit: sha('b') },
      '0.2.x': { tag: 'v0.2.1', commit: sha('c') },
    });
    expect(parseManifest(text).map((r) => [r.version, r.tag, r.commit])).toEqual([
      ['0.10.x', 'kvsieve@0.10.2', sha('b')],
      ['0.2.x', 'v0.2.1', sha('c')],
      ['0.1.x', 'v0.1.0', sha('a')],
    ]);
  });

  it.each([
    [{ next: { tag: 'v0.1.0', commit: sha('a') } }, /not a release folder/],
    [{ '0.1.x': { tag: 'v0.1.0' } }, /needs "tag" and "commit"/],
    [{ '0.1.x': { tag: 'release-1', commit: sha('a') } }, /neither vX.Y.Z nor kvsieve@X.Y.Z/],
    [{ '0.1.x': { tag: 'v0.2.0', commit: sha('a') } }, /v0.2.0 is not a version of 0.1.x/],
    [{ '0.1.0': { tag: 'v0.1.1', commit: sha('a') } }, /v0.1.1 is not a version of 0.1.0/],
    [{ '0.1.x': { tag: 'v0.1.0', commit: 'abc123' } }, /full 40-hex sha/],
    [[], /expected an object/],
  ])('refuses %j', (manifest, message) => {
    expect(() => parseManifest(JSON.stringify(manifest))).toThrow(message);
  });
});

it('orders versions as numbers, a line above its patches, a prerelease below its release', () => {
  const sorted = ['0.10.x', '0.9.x', '1.0.0', '1.0.0-rc.2', '1.0.0-rc.10', '0.9.3'].sort(compareVersions);
  expect(sorted).toEqual(['0.9.3', '0.9.x', '0.10.x', '1.0.0-rc.2', '1.0.0-rc.10', '1.0.0']);
});

describe('the switcher list', () => {
  it('lists releases newest first, then next, each at its own base; the root lands on the newest release', () => {
    const list = versionList(['next', '0.1.x', '0.2.x']);
    expect(list).toEqual([
      { version: '0.2.x', path: '/0.2.x/' },
      { version: '0.1.x', path: '/0.1.x/' },
      { version: 'next', path: '/next/' },
    ]);
    expect(list.map((v) => v.path)).toEqual(list.map((v) => versionBase(v.version)));
    expect(landing(list).version).toBe('0.2.x');
    expect(landing(versionList(['next'])).version).toBe('next');
  });

  it('finds versions.json at the root above any version base', () => {
    expect(siteRoot('/0.1.x/')).toBe('/');
    expect(siteRoot('/next/')).toBe('/');
    expect(siteRoot('/kvsieve/0.1.x/')).toBe('/kvsieve/');
    expect(siteRoot('/')).toBe('/');
  });

  it('shows the fetched list only when it names the current version', () => {
    const list = versionList(['next', '0.1.x']);
    expect(switcherEntries(list, '0.1.x', '/0.1.x/')).toBe(list);
    expect(switcherEntries(list, '0.3.x', '/0.3.x/')).toEqual([{ version: '0.3.x', path: '/0.3.x/' }]);
    expect(switcherEntries({ versions: list }, 'next', '/next/')).toEqual([
      { version: 'next', path: '/next/' },
    ]);
    expect(switcherEntries([{ version: 'next' }], 'next', '/')).toEqual([{ version: 'next', path: '/' }]);
    expect(switcherEntries(undefined, 'next', '/')).toEqual([{ version: 'next', path: '/' }]);
  });
});

describe('releaseRef', () => {
  const release = { version: '0.1.x', tag: 'v0.1.0', commit: sha('a') };
  it('builds from the tag when it names the recorded commit, else from the commit', () => {
    expect(releaseRef(release, sha('a'))).toEqual({ ref: 'v0.1.0', via: 'tag' });
    expect(releaseRef(release, undefined)).toEqual({ ref: sha('a'), via: 'commit' });
  });
  it('refuses a tag that moved', () => {
    expect(() => releaseRef(release, sha('b'))).toThrow(
      /points at b{40}, but docs\/versions.json records a{40}/,
    );
  });
});

describe('docs/versions.json', () => {
  const releases = parseManifest(readFileSync(join(docs, 'versions.json'), 'utf8'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();

  it('records at least the 0.1.x release', () => {
    expect(releases.map((r) => r.version)).toContain('0.1.x');
  });

  it.each(releases)('$version: every public package at its commit carries its tag’s version', (release) => {
    const version = release.tag.replace(/^(v|kvsieve@)/, '');
    const packages = readdirSync(join(root, 'packages'));
    let checked = 0;
    for (const dir of packages) {
      let text: string;
      try {
        text = git('show', `${release.commit}:packages/${dir}/package.json`);
      } catch {
        continue; // a package added after that release
      }
      const pkg = JSON.parse(text);
      if (pkg.private) continue;
      expect(`${pkg.name}@${pkg.version}`).toBe(`${pkg.name}@${version}`);
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
    // That commit has the docs site the versions script builds.
    expect(JSON.parse(git('show', `${release.commit}:package.json`)).scripts['docs:build']).toBeTruthy();
  });
});
