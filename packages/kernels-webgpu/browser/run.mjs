// Browser check, run by hand (not part of `vitest run`, not in CI):
//   pnpm --filter @kvsieve/kernels-webgpu test:browser
// Bundles browser/page.ts with the package's source, serves it on 127.0.0.1 (random port), opens it
// in Debian's Chromium (never a downloaded browser) with WebGPU enabled, and prints how each op on
// navigator.gpu compares with CpuBackend in the same page. Exits 0 only when every op passes.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { CHROMIUM, chromiumArgs } from '../../../scripts/chromium.mjs';

const TIME_LIMIT_MS = 120_000;
const here = dirname(fileURLToPath(import.meta.url));

if (!existsSync(CHROMIUM)) {
  console.error(
    `test:browser: ${CHROMIUM} not found. Install Debian's Chromium with \`apt-get install -y chromium\` ` +
      '(run `apt-get update` first), then run this command again.',
  );
  process.exit(2);
}

async function bundle() {
  const out = await build({
    entryPoints: [join(here, 'page.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // Bundle the workspace packages from source, as the tests do.
    conditions: ['@kvsieve/source'],
    // Dawn is Node-only; device.ts imports it lazily and only when navigator.gpu is absent.
    external: ['webgpu'],
    logLevel: 'warning',
  });
  const text = out.outputFiles[0].text;
  // The Dawn path must not be in the page: only the lazy, unresolved import may mention it.
  if (text.includes('dawn.node')) throw new Error('browser bundle contains the Dawn native module');
  return text;
}

function serve(js) {
  const html =
    // An empty icon: no favicon request, so no 404 in the page's console.
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>kvsieve WebGPU check</title>' +
    '<script type="module" src="/page.js"></script>';
  const server = createServer((req, res) => {
    const body = req.url === '/' ? html : req.url === '/page.js' ? js : undefined;
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    const type = req.url === '/' ? 'text/html' : 'text/javascript';
    res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' }).end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // Loopback only, port chosen by the OS.
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function fmt(x) {
  return Number.isNaN(x) ? 'NaN' : x === 0 ? '0' : x.toExponential(2);
}

function printTable(result) {
  console.log('\nAdapter:');
  for (const [key, value] of Object.entries(result.adapter)) console.log(`  ${key}: ${value}`);
  const header = ['op', 'max abs error', 'tolerance', 'pass'];
  const lines = result.rows.map((r) => [r.op, fmt(r.maxAbsError), r.tolerance, r.pass ? 'yes' : 'NO']);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n${row(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) console.log(row(l));
  for (const r of result.rows) if (r.error) console.log(`  ${r.op}: ${r.error}`);
  if (result.error) console.log(`  page error: ${result.error}`);
}

async function main() {
  const started = Date.now();
  const js = await bundle();
  let server;
  let context;
  let userDataDir;
  let timer;
  try {
    server = await serve(js);
    const { port } = server.address();
    userDataDir = await mkdtemp(join(tmpdir(), 'kvsieve-chromium-'));
    const args = chromiumArgs({ webgpu: true });
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`test:browser: no result within ${TIME_LIMIT_MS / 1000} s`)),
        TIME_LIMIT_MS,
      );
    });
    const run = async () => {
      // launchPersistentContext owns --user-data-dir; headless: false so that our --headless=new
      // is the only headless flag.
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: false,
        args,
        timeout: TIME_LIMIT_MS,
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (msg) => console.log(`[page ${msg.type()}] ${msg.text()}`));
      page.on('pageerror', (err) => console.log(`[page error] ${err.message}`));
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => globalThis.__kvsieveBrowserResult !== undefined, undefined, {
        timeout: TIME_LIMIT_MS,
        polling: 200,
      });
      const result = await page.evaluate(() => globalThis.__kvsieveBrowserResult);
      return { result, version: context.browser()?.version() ?? 'unknown' };
    };
    const { result, version } = await Promise.race([run(), timeout]);
    console.log(`Chromium ${version} (${CHROMIUM}), ${((Date.now() - started) / 1000).toFixed(1)} s`);
    printTable(result);
    const passed = result.rows.filter((r) => r.pass).length;
    console.log(`\n${passed} passed, ${result.rows.length - passed} failed`);
    return result.ok && result.rows.length > 0;
  } finally {
    clearTimeout(timer);
    await context?.close().catch(() => {});
    server?.close();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
