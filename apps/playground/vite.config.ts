import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const SHIM_CRYPTO = here('./src/shims/node-crypto.ts');
const SHIM_UNAVAILABLE = here('./src/shims/node-unavailable.ts');
const SHIM_DAWN = here('./src/shims/dawn.ts');
const SHIM_RESVG = here('./src/shims/resvg.ts');

/**
 * The default model, served as static files beside the page so the built site works offline:
 * the repository's own kvsieve-recall (MIT, trained from generated data by tools/train; its model
 * card says how), with the project's LICENSE. key-words.txt holds the words its needle keys are
 * made of, which the needle generator needs.
 */
export const MODEL_DIR = 'models/kvsieve-recall';
export const MODEL_FILES: Readonly<Record<string, string>> = {
  'config.json': here(`../../${MODEL_DIR}/config.json`),
  'model.safetensors': here(`../../${MODEL_DIR}/model.safetensors`),
  'tokenizer.json': here(`../../${MODEL_DIR}/tokenizer.json`),
  'tokenizer_config.json': here(`../../${MODEL_DIR}/tokenizer_config.json`),
  'generation_config.json': here(`../../${MODEL_DIR}/generation_config.json`),
  'key-words.txt': here(`../../${MODEL_DIR}/key-words.txt`),
  'README.md': here(`../../${MODEL_DIR}/README.md`),
  LICENSE: here('../../LICENSE'),
};

function defaultModel(): Plugin {
  return {
    name: 'kvsieve-default-model',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = (req.url ?? '').split('?')[0]!;
        const prefix = `/${MODEL_DIR}/`;
        const file = url.startsWith(prefix) ? MODEL_FILES[url.slice(prefix.length)] : undefined;
        if (!file || !existsSync(file)) return next();
        res.setHeader('content-type', 'application/octet-stream');
        createReadStream(file).pipe(res);
      });
    },
    generateBundle() {
      for (const [name, file] of Object.entries(MODEL_FILES)) {
        this.emitFile({ type: 'asset', fileName: `${MODEL_DIR}/${name}`, source: readFileSync(file) });
      }
    },
  };
}

export default defineConfig({
  // Relative asset paths: the built site works from any folder of any static host.
  base: './',
  plugins: [defaultModel()],
  resolve: {
    // Bundle the workspace packages from their TypeScript sources (no package build needed).
    conditions: ['@kvsieve/source', 'browser', 'module', 'import', 'default'],
    alias: [
      { find: /^node:crypto$/, replacement: SHIM_CRYPTO },
      { find: /^node:(fs|path)$/, replacement: SHIM_UNAVAILABLE },
      { find: /^webgpu$/, replacement: SHIM_DAWN },
      { find: /^@resvg\/resvg-js$/, replacement: SHIM_RESVG },
    ],
  },
  worker: {
    format: 'es',
    plugins: () => [],
  },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 1500,
    reportCompressedSize: true,
  },
});
