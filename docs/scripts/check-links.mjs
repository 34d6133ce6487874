// Checks every internal link and anchor of the built docs site with linkinator, offline: it serves
// the folder on localhost, crawls from the root and fails on a missing page, asset or #anchor.
//
//   node docs/scripts/check-links.mjs [DIR]    (pnpm docs:check-links)
//
// DIR defaults to docs/.vitepress/dist (pnpm docs:build); docs/.vitepress/versions (pnpm docs:versions)
// works too, its root index.html linking every version. External links are not requested: CI
// reaches only the package registries, so they are counted as skipped, not checked.
//
// linkinator 7.x (the last line that runs on Node 20) is patched (patches/linkinator@7.6.1.patch):
// as released it compares an anchor only when the page holding it is fetched after the link is
// seen, so on a site where the sidebar reaches every page first most cross-page anchors went
// unchecked. The patch records every anchor link and every page's ids and compares them after the
// crawl, as linkinator 8.1 does. It also makes `concurrency` hold (7.x started every request as
// soon as it was found) and resolves repeated links once, after the crawl, instead of one queued
// task each: unpatched, this site took 6 minutes and timed out on some of its own files; patched,
// under half a minute.
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LinkChecker, LinkState } from 'linkinator';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const dir = resolve(process.argv[2] ?? join(root, 'docs/.vitepress/dist'));
if (!existsSync(join(dir, 'index.html'))) {
  console.error(
    `docs: ${relative(process.cwd(), dir) || '.'}/index.html not found; run pnpm docs:build first`,
  );
  process.exit(2);
}

const LOCAL = /^http:\/\/localhost:\d+\//;
const checker = new LinkChecker();
let pages = 0;
let retries = 0;
checker.on('pagestart', () => pages++);
checker.on('retry', () => retries++);
const t0 = Date.now();
const result = await checker.check({
  path: dir,
  recurse: true,
  checkFragments: true,
  // VitePress's cleanUrls: /guide/backends is guide/backends.html, as a static host serves it.
  cleanUrls: true,
  linksToSkip: async (url) => !LOCAL.test(url),
  // The server runs in this process, so while pages are parsed it can drop a kept-alive connection
  // (ECONNRESET, status 0): such a request is retried; a missing file is a 404 and is not.
  concurrency: 25,
  retryErrors: true,
  retryErrorsCount: 3,
});
if (!Array.isArray(checker.fragmentReferences)) {
  throw new Error(
    'linkinator is not the patched 7.6.1 (patches/linkinator@7.6.1.patch): anchors would go unchecked',
  );
}

// linkinator names local pages by their path on disk; show them as site paths.
const page = (url) => (url ?? '').replace(LOCAL, '/').replace(dir, '') || '/';
const broken = result.links.filter((l) => l.state === LinkState.BROKEN);
const checked = result.links.filter((l) => l.state === LinkState.OK || l.state === LinkState.BROKEN);
const skipped = new Set(result.links.filter((l) => l.state === LinkState.SKIPPED).map((l) => l.url));
const anchors = new Set(checker.fragmentReferences.map((r) => `${r.url}#${r.fragment}`));
for (const l of broken) {
  const why = (l.failureDetails ?? []).map((d) => d?.message ?? d?.statusText ?? '').find(Boolean);
  console.log(
    `BROKEN ${page(l.url)} (on ${page(l.parent)})${l.status ? ` HTTP ${l.status}` : ''}${why ? `: ${why}` : ''}`,
  );
}
console.log(
  `docs: ${pages} pages crawled in ${relative(root, dir) || dir}, ${checked.length} links checked ` +
    `(${checker.fragmentReferences.length} anchor links to ${anchors.size} distinct anchors), ` +
    `${skipped.size} external links not checked, ${broken.length} broken ` +
    `(${((Date.now() - t0) / 1000).toFixed(0)} s${retries ? `, ${retries} requests retried after a dropped connection` : ''})`,
);
process.exit(broken.length === 0 ? 0 : 1);
