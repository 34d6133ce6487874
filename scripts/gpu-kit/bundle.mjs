// Bundles packages/runtime/bench/gpu-bench.ts and every JS dependency into one ES module for the
// offline GPU kit (pack.sh). Dawn's native `dawn.node` cannot be inlined: the `webgpu` package
// loads it by a path under its own dist/<platform>-<arch>/ folder, which this rewrites to the
// folder the bundle runs from, so run.sh puts dawn.node beside the bundle.
// Usage: node scripts/gpu-kit/bundle.mjs OUTFILE
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
// esbuild is a dev dependency of the WebGPU package (its browser tests bundle with it).
const esbuild = createRequire(`${root}packages/kernels-webgpu/package.json`)('esbuild');
const outfile = process.argv[2];
if (!outfile) throw new Error('usage: node scripts/gpu-kit/bundle.mjs OUTFILE');

// biome-ignore lint/suspicious/noTemplateCurlyInString: webgpu's index.js source text, matched literally
const DAWN_PATH = "join(__dirname, 'dist', `${process.platform}-${arch}`, 'dawn.node')";

/** webgpu's index.js, loading dawn.node from beside the bundle instead of its package folder. */
const dawnBesideBundle = {
  name: 'dawn-beside-bundle',
  setup(build) {
    build.onLoad({ filter: /[\\/]webgpu[\\/]index\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(DAWN_PATH)) {
        throw new Error(
          `${args.path} no longer loads dawn.node as ${DAWN_PATH}: update scripts/gpu-kit/bundle.mjs`,
        );
      }
      return { contents: source.replace(DAWN_PATH, "join(__dirname, 'dawn.node')"), loader: 'js' };
    });
  },
};

const result = await esbuild.build({
  entryPoints: [`${root}packages/runtime/bench/gpu-bench.ts`],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Workspace packages from their TypeScript sources, as the tests and `pnpm bench:gpu` run them.
  conditions: ['@kvsieve/source'],
  outfile,
  // CommonJS dependencies (debug, via webgpu) call require() for Node built-ins; an ES module has none.
  banner: {
    js: "import { createRequire as kvsieveCreateRequire } from 'node:module'; const require = kvsieveCreateRequire(import.meta.url);",
  },
  plugins: [dawnBesideBundle],
  metafile: true,
  logLevel: 'warning',
});

const inputs = Object.keys(result.metafile.inputs);
const native = inputs.filter((p) => p.endsWith('.node') || p.endsWith('.wasm'));
if (native.length)
  throw new Error(`the bundle would need native files it cannot carry: ${native.join(', ')}`);
const dawn = inputs.filter((p) => /[\\/]webgpu[\\/]index\.js$/.test(p));
if (dawn.length !== 1) throw new Error(`expected webgpu's index.js in the bundle once, found ${dawn.length}`);
const bytes = Object.values(result.metafile.outputs)[0].bytes;
console.log(
  `${relative(process.cwd(), outfile)}: ${(bytes / 2 ** 20).toFixed(1)} MiB from ${inputs.length} modules`,
);
