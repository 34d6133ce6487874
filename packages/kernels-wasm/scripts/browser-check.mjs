#!/usr/bin/env node
// The worker pool in a browser: bundles test/browser/driver.ts with esbuild, serves it with the
// package's worker entry and modules from a cross-origin-isolated origin (COOP same-origin, COEP
// require-corp), and opens it in Debian's Chromium (playwright-core; never a downloaded browser).
// The page's main thread must compute on 1 thread and say why; a module Web Worker must run the
// pool on 3 threads with the same bits as 1. Exits 1 on any difference.
//
//   node scripts/browser-check.mjs        (needs /usr/bin/chromium: apt-get install -y chromium)
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM } from '../../../scripts/chromium.mjs';

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = mkdtempSync(join(tmpdir(), 'kvsieve-wasm-browser-'));
// Served as /a/b/ so that the bundle finds ../../wasm/ where src/wasm/load.ts looks.
const page = join(root, 'a/b');
mkdirSync(page, { recursive: true });
mkdirSync(join(root, 'wasm'));
execFileSync(
  join(PACKAGE, '../../node_modules/.bin/esbuild'),
  [
    join(PACKAGE, 'test/browser/driver.ts'),
    '--bundle',
    '--format=esm',
    '--platform=browser',
    '--conditions=@kvsieve/source',
    '--external:node:*',
    `--outfile=${join(page, 'driver.js')}`,
  ],
  { stdio: 'inherit' },
);
copyFileSync(join(PACKAGE, 'src/wasm/worker.js'), join(page, 'worker.js'));
for (const f of ['kernels-mt.wasm', 'kernels-st.wasm'])
  copyFileSync(join(PACKAGE, 'wasm', f), join(root, 'wasm', f));
writeFileSync(
  join(page, 'index.html'),
  `<!doctype html><script type="module">
import { check } from './driver.js';
try {
  const onPage = await check(3);
  const w = new Worker('./driver.js', { type: 'module' });
  w.onerror = (e) => { window.result = { error: 'worker error: ' + e.message }; };
  w.onmessage = (e) => { window.result = { isolated: crossOriginIsolated, onPage, inWorker: e.data }; };
} catch (e) { window.result = { error: String(e) }; }
</script>`,
);

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
const server = createServer((req, res) => {
  const rel = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^\/+/, '');
  const file = join(root, rel);
  if (rel.startsWith('..') || !existsSync(file)) return void res.writeHead(404).end();
  res
    .writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    })
    .end(readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
let failed = true;
try {
  const tab = await browser.newPage();
  tab.on('console', (m) => console.log(`page: ${m.text()}`));
  await tab.goto(`http://127.0.0.1:${server.address().port}/a/b/index.html`);
  await tab.waitForFunction(() => window.result !== undefined, null, { timeout: 120_000 });
  const result = await tab.evaluate(() => window.result);
  console.log(JSON.stringify(result, null, 2));
  const { onPage, inWorker } = result;
  failed = !(
    result.isolated &&
    onPage?.threads === 1 &&
    /Web Worker/.test(onPage.note ?? '') &&
    onPage.same &&
    inWorker?.threads === 3 &&
    inWorker.note === undefined &&
    inWorker.same
  );
  console.log(
    failed
      ? 'browser-check: FAILED'
      : 'browser-check: ok (page: 1 thread with a note; worker: 3 threads, same bits)',
  );
} finally {
  await browser.close();
  server.close();
  rmSync(root, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
