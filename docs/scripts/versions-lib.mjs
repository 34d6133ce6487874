// The rules that docs/scripts/versions.mjs (which builds every version) and the version switcher
// (docs/.vitepress/theme/VersionSwitcher.vue) must agree on, free of Node and Vue so that
// docs/test/versions.test.ts checks them without a build.

/** A release's folder: a release line (`0.1.x`) or one exact version (`0.2.0`, `1.0.0-rc.1`). */
const RELEASE = /^(\d+)\.(\d+)\.(x|\d+)(-[0-9A-Za-z.]+)?$/;
/** The tags a release may carry: changesets' `kvsieve@X.Y.Z` or a plain `vX.Y.Z`. */
const TAG = /^(?:kvsieve@|v)(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.]+)?$/;
const COMMIT = /^[0-9a-f]{40}$/;

/**
 * @typedef {{ version: string, tag: string, commit: string }} Release
 * @typedef {{ version: string, path: string }} VersionEntry
 */

/**
 * Reads docs/versions.json, `{ "0.1.x": { "tag": "v0.1.0", "commit": "<40 hex>" } }`, and returns its
 * releases newest first. The commit is what makes a build reproducible where the tag is missing
 * (a CI clone without tags); a tag must name a version inside its release line.
 * @param {string} text
 * @returns {Release[]}
 */
export function parseManifest(text) {
  const data = JSON.parse(text);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new Error('docs/versions.json: expected an object of { "<version>": { tag, commit } }');
  }
  const releases = Object.entries(data).map(([version, entry]) => {
    const where = `docs/versions.json "${version}"`;
    const v = version.match(RELEASE);
    if (!v) throw new Error(`${where}: not a release folder name such as 0.1.x or 0.2.0`);
    if (!entry || typeof entry.tag !== 'string' || typeof entry.commit !== 'string') {
      throw new Error(`${where}: needs "tag" and "commit" strings`);
    }
    const t = entry.tag.match(TAG);
    if (!t) throw new Error(`${where}: tag "${entry.tag}" is neither vX.Y.Z nor kvsieve@X.Y.Z`);
    if (
      t[1] !== v[1] ||
      t[2] !== v[2] ||
      (v[3] !== 'x' && (t[3] !== v[3] || (t[4] ?? '') !== (v[4] ?? '')))
    ) {
      throw new Error(`${where}: tag ${entry.tag} is not a version of ${version}`);
    }
    if (!COMMIT.test(entry.commit)) throw new Error(`${where}: commit must be a full 40-hex sha`);
    return { version, tag: entry.tag, commit: entry.commit };
  });
  return releases.sort((a, b) => compareVersions(b.version, a.version));
}

/** Orders release folder names as versions (`0.10.x` after `0.9.x`; `1.0.0-rc.1` before `1.0.0`). */
export function compareVersions(a, b) {
  const [x, y] = [a.match(RELEASE), b.match(RELEASE)];
  if (!x || !y) throw new Error(`not release versions: ${a}, ${b}`);
  for (let i = 1; i <= 3; i++) {
    // A release line (x) stands above every patch in it.
    const [p, q] = [x[i] === 'x' ? Infinity : Number(x[i]), y[i] === 'x' ? Infinity : Number(y[i])];
    if (p !== q) return p - q;
  }
  if (!x[4] !== !y[4]) return x[4] ? -1 : 1;
  return (x[4] ?? '').localeCompare(y[4] ?? '', 'en', { numeric: true });
}

/** The VitePress base of one version's build. */
export function versionBase(version) {
  return `/${version}/`;
}

/**
 * What the switcher offers, as the site root's versions.json lists it: the releases newest first,
 * then `next` (main).
 * @param {string[]} built version folders that were built, `next` among them or not
 * @returns {VersionEntry[]}
 */
export function versionList(built) {
  const releases = built.filter((v) => v !== 'next').sort((a, b) => compareVersions(b, a));
  const list = releases.map((version) => ({ version, path: versionBase(version) }));
  if (built.includes('next')) list.push({ version: 'next', path: versionBase('next') });
  return list;
}

/** Where the site root sends a visitor: the newest release, or `next` when there is none. */
export function landing(list) {
  if (list.length === 0) throw new Error('no versions');
  return list.find((v) => v.version !== 'next') ?? list[0];
}

/**
 * Which ref builds a release: its tag when the clone has it (and it still names the recorded
 * commit), else the recorded commit.
 * @param {Release} release
 * @param {string | undefined} tagCommit the commit the tag points at here, undefined without the tag
 */
export function releaseRef(release, tagCommit) {
  if (tagCommit === undefined) return { ref: release.commit, via: 'commit' };
  if (tagCommit !== release.commit) {
    throw new Error(
      `tag ${release.tag} points at ${tagCommit}, but docs/versions.json records ${release.commit} for ${release.version}`,
    );
  }
  return { ref: release.tag, via: 'tag' };
}

/** The site root above a version's base: `/0.1.x/` → `/`, `/kvsieve/next/` → `/kvsieve/`. */
export function siteRoot(base) {
  return base.replace(/[^/]+\/$/, '');
}

/**
 * The switcher's entries: the fetched versions.json when it is a list that names the current
 * version (a build in its place), else the current version alone (a single build, or a list
 * that does not belong to this site).
 * @param {unknown} fetched
 * @param {string} current
 * @param {string} base
 * @returns {VersionEntry[]}
 */
export function switcherEntries(fetched, current, base) {
  const valid =
    Array.isArray(fetched) &&
    fetched.every((v) => v && typeof v.version === 'string' && typeof v.path === 'string') &&
    fetched.some((v) => v.version === current);
  return valid ? fetched : [{ version: current, path: base }];
}
