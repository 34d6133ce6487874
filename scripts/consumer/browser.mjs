// Serve a built page on 127.0.0.1 and open it in Debian's Chromium (never a downloaded browser)
// with WebGPU enabled; resolve with what the page puts on `window[resultKey]`.
// Flags: ../shared/design/ENVIRONMENT.md ("WebGPU in a browser").
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, chromiumArgs } from '../chromium.mjs';

const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
};

/** `routes`: URL prefix → folder, e.g. { '/': distDir, '/model/': modelDir }; longest prefix wins. */
function serve(routes) {
  const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
  const server = createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const prefix = prefixes.find((p) => url.startsWith(p));
    const rel = normalize(url.slice(prefix.length) || 'index.html');
    const file = join(routes[prefix], rel);
    // Only files under the route's folder; no listings.
    if (rel.startsWith('..') || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res
      .writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
      })
      .end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/**
 * Open the page and wait for its result. `log` receives the page's console lines. Rejects after
 * `timeoutMs` with what the page printed, so a hang is a failure with a reason.
 */
export async function runPage({ routes, resultKey, timeoutMs = 240_000, log = () => {} }) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: install Debian's Chromium (apt-get install -y chromium; scripts/setup.sh does)`,
    );
  }
  const server = await serve(routes);
  const userDataDir = await mkdtemp(join(tmpdir(), 'kvsieve-consumer-chromium-'));
  let context;
  let timer;
  try {
    const { port } = server.address();
    const launched = async () => {
      // launchPersistentContext owns --user-data-dir; headless: false so that --headless=new is
      // the only headless flag.
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: false,
        timeout: timeoutMs,
        args: chromiumArgs({ webgpu: true }),
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (msg) => log(`[page ${msg.type()}] ${msg.text()}`));
      page.on('pageerror', (err) => log(`[page error] ${err.message}`));
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction((key) => globalThis[key] !== undefined, resultKey, {
        timeout: timeoutMs,
        polling: 250,
      });
      const result = await page.evaluate((key) => globalThis[key], resultKey);
      return { result, version: context.browser()?.version() ?? 'unknown' };
    };
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the page gave no result within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
    });
    return await Promise.race([launched(), timeout]);
  } finally {
    clearTimeout(timer);
    await context?.close().catch(() => {});
    server.close();
    await rm(userDataDir, { recursive: true, force: true });
  }
}
