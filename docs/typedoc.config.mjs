// API reference: typedoc + typedoc-plugin-markdown render every public package's TSDoc as
// Markdown pages inside the VitePress site (docs/reference/api, generated, git-ignored).
// Validation is strict: an exported symbol without documentation or a {@link} that does not
// resolve fails the build (every public package's exports are documented; there is no baseline).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const docs = dirname(fileURLToPath(import.meta.url));
const root = dirname(docs);

const validation = { notExported: false, notDocumented: true, invalidLink: true };

/** @type {Partial<import('typedoc').TypeDocOptions> & Record<string, unknown>} */
export default {
  name: 'kvsieve',
  entryPointStrategy: 'packages',
  entryPoints: [join(root, 'packages/*')],
  // Private workspace packages: test helpers, not published.
  exclude: [join(root, 'packages/test-utils'), join(root, 'packages/backend-conformance')],
  // In "packages" mode each package is converted and validated with these options.
  packageOptions: {
    entryPoints: ['src/index.ts'],
    tsconfig: 'tsconfig.build.json',
    disableSources: true,
    validation,
    externalSymbolLinkMappings: {
      '@kvsieve/kernels-wasm': {
        Allocator: 'https://github.com/kvsieve/kvsieve/blob/main/packages/kernels-wasm/src/wasm/heap.ts',
        MIN_PART_WORK: 'https://github.com/kvsieve/kvsieve/tree/main/packages/kernels-wasm/src/wasm',
      },
    },
  },
  plugin: ['typedoc-plugin-markdown', 'typedoc-vitepress-theme'],
  out: join(docs, 'reference/api'),
  docsRoot: docs,
  readme: 'none',
  entryFileName: 'index',
  hidePageHeader: true,
  validation,
  // Internal symbols of kernels-wasm that its doc comments link to (the package is being edited
  // concurrently; these point at their source until the comments are changed).
  externalSymbolLinkMappings: {
    '@kvsieve/kernels-wasm': {
      Allocator: 'https://github.com/kvsieve/kvsieve/blob/main/packages/kernels-wasm/src/wasm/heap.ts',
      MIN_PART_WORK: 'https://github.com/kvsieve/kvsieve/tree/main/packages/kernels-wasm/src/wasm',
    },
  },
  treatWarningsAsErrors: true,
  treatValidationWarningsAsErrors: true,
};
