// End-to-end check of the built playground in Debian's headless Chromium (never a downloaded
// browser): builds the site, serves it on 127.0.0.1, loads the default model, generates with the
// full cache and SnapKV at 25% on a needle prompt, and requires the page's generated token ids and
// per-layer, per-head kept counts to equal what @kvsieve/runtime computes in Node for the same
// prompt. Then a corrupt .gguf must show the loader's error with the previous model still loaded.
// Writes a screenshot (docs/screenshot.png). Needs the packages built (`pnpm build`).
//   pnpm --filter playground test:e2e
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { CHROMIUM, chromiumArgs } from '../../../scripts/chromium.mjs';
import { nodeReference } from './reference.mjs';

const TIME_LIMIT_MS = 180_000;
const app = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(app, 'dist');
// Small on purpose: SwiftShader (WebGPU on the CPU) on 2 shared cores runs the model at a few
// tokens/s. KVSIEVE_PLAYGROUND_BACKEND=wasm|cpu runs the same checks on another backend.
const MAX_TOKENS = 4;
const BACKEND = process.env.KVSIEVE_PLAYGROUND_BACKEND;
// The README's screenshot is the WebGPU run's; another backend's goes to the temporary folder.
const SCREENSHOT = BACKEND
  ? join(tmpdir(), `kvsieve-playground-${BACKEND}.png`)
  : join(app, 'docs', 'screenshot.png');
const QUERY = `niah=128,50,1&m1=snapkv&m1.budget=25%25&max=${MAX_TOKENS}${BACKEND ? `&backend=${BACKEND}` : ''}`;

if (!existsSync(CHROMIUM)) {
  console.error(
    `playground e2e: ${CHROMIUM} not found; install Debian's Chromium (apt-get install -y chromium)`,
  );
  process.exit(2);
}

const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
};

function serve() {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, '');
    const file = join(dist, path === '/' ? 'index.html' : path);
    try {
      const body = await readFile(file);
      res
        .writeHead(200, {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          'content-length': body.length,
        })
        .end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function check(ok, what, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`);
  return ok;
}

async function main() {
  const started = Date.now();
  await build({ root: app, logLevel: 'warn' });
  const server = await serve();
  const userDataDir = await mkdtemp(join(tmpdir(), 'kvsieve-playground-'));
  let context;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${TIME_LIMIT_MS / 1000} s`)), TIME_LIMIT_MS);
  });
  try {
    const run = async () => {
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: false, // our --headless=new is the only headless flag
        viewport: { width: 1280, height: 800 },
        args: chromiumArgs({ webgpu: true }),
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('pageerror', (err) => console.log(`[page error] ${err.message}`));
      page.on('console', (m) => m.type() === 'error' && console.log(`[page console] ${m.text()}`));
      await page.goto(`http://127.0.0.1:${server.address().port}/?${QUERY}`);
      await page.waitForSelector('[data-testid=model-status][data-state=ready]', { timeout: TIME_LIMIT_MS });
      await page.waitForFunction(
        () => document.querySelector('[data-testid=expected]')?.textContent?.startsWith('Expected'),
        undefined,
        { timeout: TIME_LIMIT_MS },
      );
      const backend = await page.textContent('.backend');
      const prompt = await page.inputValue('[data-testid=prompt]');
      await page.click('[data-testid=generate]');
      await page.waitForSelector('body[data-run=done]', { timeout: TIME_LIMIT_MS });
      const ids = async (id) =>
        (await page.getAttribute(`[data-testid=${id}]`, 'data-tokens'))
          .split(',')
          .filter((x) => x)
          .map(Number);
      const page_ = {
        full: await ids('output-full'),
        snap: await ids('output'),
        kept: await page.$$eval('[data-testid=kept-counts] tbody tr', (rows) =>
          rows.map((r) => r.dataset.kept),
        ),
        stats: await page.textContent('[data-testid=stats]'),
      };
      page_.initial = [
        await page.inputValue('[data-testid=layer-select]'),
        await page.inputValue('[data-testid=head-select]'),
      ];
      // Exactly one head's kept set, through the layer and head pickers (dark tokens: kept).
      const sets = [];
      for (const layer of ['0', '3']) {
        await page.selectOption('[data-testid=layer-select]', layer);
        await page.selectOption('[data-testid=head-select]', '0');
        sets.push(
          await page.$$eval('[data-testid=kept-map] span', (spans) =>
            spans.flatMap((s, i) => (s.dataset.kept === '1.000' ? [i] : [])).join(','),
          ),
        );
      }
      page_.sets = sets;
      // The observation-window scores of layer 0: every prefix token scored, the window not.
      await page.selectOption('#shade-mode', 'scores');
      await page.selectOption('[data-testid=layer-select]', '0');
      page_.scored = await page.$$eval('[data-testid=kept-map] span', (spans) => ({
        scored: spans.filter((s) => s.dataset.score !== undefined).length,
        top: spans.filter((s) => s.dataset.score === '1.000').length,
      }));
      await page.selectOption('#shade-mode', 'kept');
      await page.selectOption('[data-testid=layer-select]', 'all');
      await page.selectOption('[data-testid=head-select]', 'all');
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      // Phone width: nothing wider than the screen (tables scroll inside their panels).
      await page.setViewportSize({ width: 390, height: 844 });
      page_.phoneWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      await page.setViewportSize({ width: 1280, height: 800 });
      // A corrupt file: the loader's typed message in the page, the previous model still in use.
      await page.setInputFiles('#pick-file', {
        name: 'broken.gguf',
        mimeType: 'application/octet-stream',
        buffer: Buffer.from('GGUF\x03\x00\x00\x00garbage'),
      });
      await page.waitForSelector('.model .error:not([hidden])', { timeout: TIME_LIMIT_MS });
      const bad = {
        error: await page.textContent('.model .error'),
        status: await page.textContent('[data-testid=model-status]'),
      };
      // Stop: a long generation stopped after its first tokens; the run after it is not started.
      await page.fill('[data-testid=prompt]', 'The secret code for');
      await page.fill('#max-tokens', '1024');
      await page.dispatchEvent('#max-tokens', 'change');
      await page.click('[data-testid=generate]');
      await page.waitForFunction(
        () => (document.querySelector('[data-testid=output-full]')?.dataset.tokens ?? '') !== '',
        undefined,
        { timeout: TIME_LIMIT_MS },
      );
      await page.click('text=Stop');
      await page.waitForSelector('body[data-run=done]', { timeout: TIME_LIMIT_MS });
      const stop = await page.$$eval('.column', (cs) =>
        cs.map(
          (c) =>
            `${c.querySelector('small, .error')?.textContent} (${
              c
                .querySelector('.output')
                .dataset.tokens.split(',')
                .filter((x) => x).length
            } tokens)`,
        ),
      );
      return { backend, prompt, page: page_, bad, stop };
    };
    const got = await Promise.race([run(), timeout]);
    console.log(`backend: ${got.backend}`);
    const ref = await nodeReference(got.prompt, { budget: { ratio: 0.25 } }, MAX_TOKENS);
    let ok = true;
    ok &= check(
      JSON.stringify(got.page.full) === JSON.stringify(ref.full),
      'full-cache token ids equal Node',
      `page ${got.page.full} node ${ref.full}`,
    );
    ok &= check(
      JSON.stringify(got.page.snap) === JSON.stringify(ref.snap),
      'SnapKV 25% token ids equal Node',
      `page ${got.page.snap} node ${ref.snap}`,
    );
    ok &= check(
      JSON.stringify(got.page.kept) === JSON.stringify(ref.kept),
      'kept counts per layer and KV head equal Node',
      `page ${got.page.kept.join(' | ')} node ${ref.kept.join(' | ')}`,
    );
    ok &= check(
      got.page.initial.join() === 'all,all',
      'kept view opens on all layers and heads',
      got.page.initial.join(),
    );
    ok &= check(
      got.page.phoneWidth <= 390,
      'readable at a phone width (390 px, no sideways scroll)',
      `${got.page.phoneWidth} px`,
    );
    ok &= check(
      JSON.stringify(got.page.sets) === JSON.stringify(ref.sets),
      'layer 0 and 3, KV head 0: kept positions (layer and head pickers) equal Node',
      `page ${got.page.sets.join(' | ')} node ${ref.sets.join(' | ')}`,
    );
    // Budget 32 of 128 tokens: the window shrinks to 16 (the page's layer notes say so), 112 scored.
    ok &= check(
      got.page.scored.scored === ref.promptTokens - 16 && got.page.scored.top >= 1,
      'layer 0 observation-window scores: the prefix scored, the window not',
      JSON.stringify(got.page.scored),
    );
    // 32 of 128 entries per head: SnapKV at 25% keeps a quarter of the full cache's bytes.
    ok &= check(
      /full cache[\d.\s]+258\.0 KiB of 258\.0 KiB \(100\.0%\)/.test(got.page.stats) &&
        /snapkv[\d.\s]+64\.5 KiB of 258\.0 KiB \(25\.0%\)/.test(got.page.stats),
      'stats: cache bytes full vs kept',
      got.page.stats.replace(/\s+/g, ' ').slice(0, 200),
    );
    ok &= check(
      /ModelFileError|GGUF|broken\.gguf/i.test(got.bad.error) && /Still using/.test(got.bad.status),
      'corrupt file: error shown, previous model kept',
      `${got.bad.error} / ${got.bad.status}`,
    );
    ok &= check(
      /^stopped: stopped \((\d+) tokens\)$/.test(got.stop[0]) &&
        Number(/(\d+) tokens/.exec(got.stop[0])[1]) < 1024 &&
        got.stop[1].startsWith('not run (stopped)'),
      'stop: the full cache stopped early, SnapKV not started',
      got.stop.join(' / '),
    );
    console.log(`Node (CPU backend): full cache ${ref.speed.full}; snapkv ${ref.speed.snap}`);
    console.log(`screenshot: ${SCREENSHOT}`);
    console.log(`prompt ${ref.promptTokens} tokens; ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return Boolean(ok);
  } finally {
    clearTimeout(timer);
    await context?.close().catch(() => {});
    server.close();
    await rm(userDataDir, { recursive: true, force: true });
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (err) => {
    console.error(`playground e2e: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  },
);
