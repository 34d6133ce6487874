// Opens the built docs site in Debian's headless Chromium (driven by playwright-core, never a
// downloaded browser), checks that the home page and a method page render, and saves PNGs for
// review in docs/.screenshots/ (git-ignored):
//
//   node docs/scripts/screenshots.mjs [DIR]    (pnpm docs:screenshots)
//
// DIR defaults to docs/.vitepress/dist (pnpm docs:build, base /). Given docs/.vitepress/versions
// (pnpm docs:versions) it serves the folder as the site root and checks every version listed in its
// versions.json under that version's base, and that its version switcher lists every version and
// each entry's page loads. A page fails on a console error, an uncaught exception, a failed or
// non-2xx request to the site, or a missing title.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, chromiumArgs } from '../../scripts/chromium.mjs';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const dir = resolve(process.argv[2] ?? join(root, 'docs/.vitepress/dist'));
const shots = join(root, 'docs/.screenshots');

if (!existsSync(CHROMIUM)) {
  console.error(`docs: ${CHROMIUM} not found; install Debian's Chromium (apt-get install -y chromium)`);
  process.exit(2);
}
if (!existsSync(join(dir, 'index.html'))) {
  console.error(`docs: ${dir}/index.html not found; run pnpm docs:build (or pnpm docs:versions) first`);
  process.exit(2);
}

// One site per base: the plain build at /, or each version of the versioned folder at /<version>/.
const versionsFile = join(dir, 'versions.json');
const sites = existsSync(versionsFile)
  ? JSON.parse(readFileSync(versionsFile, 'utf8')).map((v) => ({ name: v.version, base: v.path }))
  : [{ name: 'site', base: '/' }];
const versioned = existsSync(versionsFile);

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

// A static host as VitePress's cleanUrls expects: /guide/backends is guide/backends.html, a folder
// is its index.html, anything else is 404.
async function resolveFile(urlPath) {
  const clean = decodeURIComponent(urlPath.split('?')[0]);
  const file = resolve(dir, `.${clean}`);
  if (file !== dir && !file.startsWith(dir + sep)) return undefined;
  for (const candidate of [file, join(file, 'index.html'), `${file}.html`]) {
    try {
      return { path: candidate, body: await readFile(candidate) };
    } catch {
      // not this one
    }
  }
  return undefined;
}
const server = createServer(async (req, res) => {
  const found = await resolveFile(req.url ?? '/');
  if (!found) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': TYPES[extname(found.path)] ?? 'application/octet-stream' });
  res.end(found.body);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const origin = `http://127.0.0.1:${server.address().port}`;

const userDataDir = await mkdtemp(join(tmpdir(), 'kvsieve-docs-shots-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: false, // --headless=new below is the only headless flag
  viewport: { width: 1280, height: 900 },
  args: chromiumArgs(),
});

let failures = 0;
const fail = (what) => {
  failures++;
  console.log(`FAIL ${what}`);
};

/** Loads one page, checks it, saves its screenshot; returns the page (open) for further checks. */
async function visit(site, path, file, title) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error')
      problems.push(`console error: ${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => {
    if (r.url().startsWith(origin) && r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  const url = `${origin}${site.base}${path}`;
  const res = await page.goto(url, { waitUntil: 'networkidle' });
  if (!res?.ok()) problems.push(`HTTP ${res?.status()} for the page itself`);
  const h = await page
    .locator(title.selector)
    .first()
    .textContent({ timeout: 10_000 })
    .catch(() => null);
  if (!h?.includes(title.text))
    problems.push(`${title.selector} is ${JSON.stringify(h)}, expected "${title.text}"`);
  const png = join(shots, `${site.name}-${file}.png`);
  await page.screenshot({ path: png });
  for (const p of problems) fail(`${url}: ${p}`);
  console.log(`${problems.length ? 'FAIL' : 'ok  '} ${url} → ${relative(root, png)}`);
  return page;
}

try {
  mkdirSync(shots, { recursive: true });
  for (const site of sites) {
    const home = await visit(site, '', 'home', { selector: '.VPHero .name', text: 'kvsieve' });
    if (versioned) {
      // The switcher reads /versions.json after hydration: wait for it to list every version, then
      // load each entry's target.
      const select = home.locator('.version-switcher select');
      const want = sites.map((s) => s.name);
      await home
        .waitForFunction(
          (n) => document.querySelectorAll('.version-switcher option').length === n,
          want.length,
          { timeout: 10_000 },
        )
        .catch(() => {});
      const options = await select.locator('option').allTextContents();
      if (JSON.stringify(options) !== JSON.stringify(want)) {
        fail(
          `${site.base}: the version switcher lists ${JSON.stringify(options)}, expected ${JSON.stringify(want)}`,
        );
      }
      if ((await select.inputValue()) !== site.name)
        fail(`${site.base}: the switcher does not select ${site.name}`);
      for (const target of sites) {
        const r = await home.request.get(`${origin}${target.base}`);
        const ok = r.ok() && (await r.text()).includes('<div id="app">');
        if (!ok) fail(`${site.base}: switcher entry ${target.name} → ${target.base}: HTTP ${r.status()}`);
        else console.log(`ok   ${site.base}: switcher entry ${target.name} → ${target.base}`);
      }
    }
    await home.close();
    await (
      await visit(site, 'methods/snapkv', 'methods-snapkv', { selector: 'main h1', text: 'SnapKV' })
    ).close();
  }
} finally {
  await context.close();
  server.close();
  await rm(userDataDir, { recursive: true, force: true });
}
console.log(`docs: ${sites.length * 2} pages in Chromium, ${failures} problems`);
process.exit(failures === 0 ? 0 : 1);
