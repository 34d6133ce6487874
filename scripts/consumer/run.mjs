#!/usr/bin/env node
// pnpm test:consumer: kvsieve as a user gets it. Packs every public package, then, in fresh npm
// projects under the system temp folder (no workspace links, no root node_modules above them):
//   app  installs @kvsieve/runtime, @kvsieve/methods-snapkv and @kvsieve/kernels-webgpu: a Node
//        script generates on the CPU backend; a strict TypeScript consumer type-checks under
//        node16 and bundler resolution; a Vite page generates on WebGPU in headless Chromium
//   cli  installs only `kvsieve` and runs `npx kvsieve`
//   all  installs every public package: sizes (packed, installed) and a browser bundle per entry
// Prints the size table. Needs built packages (`pnpm build`, run first unless --no-build; or
// --tarballs DIR, packed already), Debian's chromium and the npm registry (or npm's cache) for
// third-party dependencies. --keep leaves the projects in place for a look.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { packAll, publicPackages, ROOT, readTarballs } from '../packages/workspace.mjs';
import { runPage } from './browser.mjs';
import { cliChecks } from './cli-checks.mjs';
import { CONSUMER_TOOLS, createProject, run } from './project.mjs';
import { browserEntries, measureSizes, sizeTable } from './sizes.mjs';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const MODEL = join(ROOT, 'models/kvsieve-recall');
const HELD_OUT_LINE = 1; // a 1,011-token prompt the model (and PyTorch) answers right: 4036770.
const keep = process.argv.includes('--keep');

const APP = ['@kvsieve/runtime', '@kvsieve/methods-snapkv', '@kvsieve/kernels-webgpu'];
const work = mkdtempSync(join(tmpdir(), 'kvsieve-consumer-'));
const projects = {};
let tarballs;
let packages;

function fixtures(...names) {
  return Object.fromEntries(names.map((n) => [n, join(FIXTURES, n)]));
}

/** `--tarballs DIR`: test these (release.mjs passes the ones it will publish) instead of packing. */
function givenTarballs() {
  const i = process.argv.indexOf('--tarballs');
  return i < 0 ? null : readTarballs(resolve(process.argv[i + 1] ?? '.'));
}

before(async () => {
  const given = givenTarballs();
  if (given) {
    ({ packages, tarballs } = given);
  } else {
    if (!process.argv.includes('--no-build')) {
      execFileSync('pnpm', ['build', '--output-logs=errors-only'], { cwd: ROOT, stdio: 'inherit' });
    }
    packages = publicPackages();
    tarballs = packAll(join(work, 'tarballs'), packages);
  }
  // The three installs are mostly waiting on the registry or npm's cache: run them together.
  const [app, cli, all] = await Promise.all([
    createProject(join(work, 'app'), {
      direct: APP,
      tarballs,
      tools: CONSUMER_TOOLS,
      fixtures: fixtures(
        'generate.mjs',
        'consumer.ts',
        'consumer-webgpu.ts',
        'tsconfig.node16.json',
        'tsconfig.bundler.json',
        'no-node-builtins.mjs',
        'browser',
      ),
    }),
    createProject(join(work, 'cli'), { direct: ['kvsieve'], tarballs }),
    createProject(join(work, 'all'), {
      direct: packages.map((p) => p.name),
      tarballs,
      tools: { vite: CONSUMER_TOOLS.vite },
      fixtures: fixtures('bundle-sizes.mjs', 'no-node-builtins.mjs'),
    }),
  ]);
  projects.app = { dir: join(work, 'app'), installed: app };
  projects.cli = { dir: join(work, 'cli'), installed: cli };
  projects.all = { dir: join(work, 'all'), installed: all };
});

after(() => {
  if (keep) console.log(`consumer projects kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
});

let cpuResult;

test('node: @kvsieve/runtime + @kvsieve/methods-snapkv answer a held-out prompt on the CPU', async (t) => {
  const { dir, installed } = projects.app;
  // Only what the three packages declare came in: runtime, its core; snapkv, its method-kit.
  t.assert.deepStrictEqual(installed, [
    '@kvsieve/core',
    '@kvsieve/kernels-webgpu',
    '@kvsieve/method-kit',
    '@kvsieve/methods-snapkv',
    '@kvsieve/runtime',
  ]);
  const r = await run('node', ['generate.mjs', MODEL, String(HELD_OUT_LINE)], { cwd: dir });
  t.assert.strictEqual(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  // PyTorch's greedy answer to this prompt (heldout-1k.jsonl), token for token through the text.
  t.assert.strictEqual(out.full.text, out.expected);
  t.assert.ok(out.full.prompt > 1000, `prompt of ${out.full.prompt} tokens`);
  // SnapKV at 256 of ~1,011 tokens per KV head keeps about a quarter of the cache's bytes.
  const ratio = out.snapkv.cache.keptBytes / out.snapkv.cache.fullBytes;
  t.assert.ok(ratio > 0.2 && ratio < 0.3, `SnapKV kept ${(100 * ratio).toFixed(1)}% of the cache`);
  t.diagnostic(
    `full cache: ${JSON.stringify(out.full.text)}; SnapKV 256: ${JSON.stringify(out.snapkv.text)}`,
  );
  cpuResult = out;
});

for (const config of ['tsconfig.node16.json', 'tsconfig.bundler.json']) {
  test(`types: a strict consumer type-checks with ${config} (skipLibCheck off)`, async (t) => {
    const r = await run('npx', ['--no-install', 'tsc', '-p', config], { cwd: projects.app.dir });
    t.assert.strictEqual(r.code, 0, `tsc -p ${config}:\n${r.stdout}${r.stderr}`);
  });
}

test('browser: a Vite bundle generates on WebGPU in headless Chromium', async (t) => {
  const { dir } = projects.app;
  const b = await run('npx', ['--no-install', 'vite', 'build', 'browser'], { cwd: dir });
  t.assert.strictEqual(b.code, 0, `vite build:\n${b.stdout}${b.stderr}`);
  const dist = join(dir, 'browser/dist');
  const line = readFileSync(join(MODEL, 'heldout-1k.jsonl'), 'utf8').split('\n')[HELD_OUT_LINE];
  writeFileSync(join(dist, 'prompt.json'), JSON.stringify({ prompt: JSON.parse(line).input }));
  const logs = [];
  const { result, version } = await runPage({
    routes: { '/': dist, '/model/': MODEL },
    resultKey: '__kvsieveConsumer',
    log: (l) => logs.push(l),
  });
  t.assert.ok(result.ok, `page failed: ${result.error}\n${logs.join('\n')}`);
  t.diagnostic(`Chromium ${version}, adapter ${result.adapter}`);
  // The same answer as the CPU backend in Node, which is PyTorch's.
  t.assert.strictEqual(result.full.text, JSON.parse(line).prediction);
  if (cpuResult) t.assert.deepStrictEqual(result.full.tokens, cpuResult.full.tokens);
  t.assert.ok(result.snapkv.cache.keptBytes < result.full.cache.keptBytes / 3);
});

test('cli: npx kvsieve from the one package', async (t) => {
  await cliChecks(t, projects.cli.dir, MODEL, packages.find((p) => p.name === 'kvsieve').version);
});

test('sizes: every package packed and installed, every browser entry bundled alone', async (t) => {
  const entries = browserEntries(packages);
  const sizes = await measureSizes({ packages, tarballs, projectDir: projects.all.dir, entries });
  console.log(`\n${sizeTable(sizes)}\n`);
  const failed = Object.entries(sizes.bundles).filter(([, s]) => s.error);
  t.assert.deepStrictEqual(
    failed.map(([e, s]) => `${e}: ${s.error}`),
    [],
    'every browser entry must bundle for the browser',
  );
});

test('wasm: @kvsieve/kernels-wasm runs from its tarball without a compiler', async (t) => {
  if (!packages.some((p) => p.name === '@kvsieve/kernels-wasm')) {
    t.skip('packages/kernels-wasm is not in this checkout');
    return;
  }
  const script = `
    import { createWasmBackend } from '@kvsieve/kernels-wasm';
    import { generate, loadModel } from '@kvsieve/runtime';
    const model = await loadModel(process.argv[2], { backend: await createWasmBackend() });
    const line = JSON.parse((await import('node:fs')).readFileSync(process.argv[2] + '/heldout-1k.jsonl', 'utf8').split('\\n')[${HELD_OUT_LINE}]);
    const it = generate(model, line.input, { maxTokens: 40, stop: ['.'] });
    let r = await it.next();
    while (!r.done) r = await it.next();
    console.log(JSON.stringify(r.value.tokens));
    process.exit(0);`;
  // A file, as a user's program is: workers the backend starts inherit `node -e`'s --input-type.
  writeFileSync(join(projects.all.dir, 'wasm.mjs'), script);
  const r = await run('node', ['wasm.mjs', MODEL], { cwd: projects.all.dir });
  t.assert.strictEqual(r.code, 0, r.stderr);
  if (cpuResult) t.assert.deepStrictEqual(JSON.parse(r.stdout), cpuResult.full.tokens);
});
