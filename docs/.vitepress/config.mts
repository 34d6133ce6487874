import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type DefaultTheme, defineConfig } from 'vitepress';

// One build per version: the versions script sets DOCS_BASE (/0.1.x/, /next/), DOCS_VERSION and
// DOCS_OUT_DIR; a plain `pnpm docs:build` or `pnpm docs:dev` is an unversioned `next` at the root.
// biome-ignore lint/suspicious/noUndeclaredEnvVars: set by docs/scripts/versions.mjs, not a turbo task input.
const base = process.env.DOCS_BASE ?? '/';
// biome-ignore lint/suspicious/noUndeclaredEnvVars: as above.
const version = process.env.DOCS_VERSION ?? 'next';
// biome-ignore lint/suspicious/noUndeclaredEnvVars: as above.
const versioned = process.env.DOCS_VERSION !== undefined;
// A versioned build writes into the versions folder, so it never replaces the plain build in
// docs/.vitepress/dist that docs:check-links and docs:screenshots read.
// biome-ignore lint/suspicious/noUndeclaredEnvVars: as above.
const outDir = process.env.DOCS_OUT_DIR;

// Written by typedoc-vitepress-theme next to the API pages (docs/scripts/generate.mjs runs typedoc first).
const apiSidebarFile = fileURLToPath(new URL('../reference/api/typedoc-sidebar.json', import.meta.url));
const apiSidebar: DefaultTheme.SidebarItem[] = existsSync(apiSidebarFile)
  ? JSON.parse(readFileSync(apiSidebarFile, 'utf8'))
  : [];

export const METHODS = [
  ['snapkv', 'SnapKV'],
  ['pyramidkv', 'PyramidKV'],
  ['h2o', 'H2O'],
  ['streamingllm', 'StreamingLLM'],
  ['adakv', 'AdaKV'],
  ['chunkkv', 'ChunkKV'],
  ['structkv', 'StructKV'],
  ['surfacelogickv', 'SurfaceLogicKV'],
] as const;

const guide: DefaultTheme.SidebarItem[] = [
  {
    text: 'Guides',
    items: [
      { text: 'Getting started (Node)', link: '/guide/getting-started' },
      { text: 'In the browser', link: '/guide/browser' },
      { text: 'Choosing a method', link: '/guide/choosing-a-method' },
      { text: 'Model files', link: '/guide/model-files' },
      { text: 'Backends', link: '/guide/backends' },
      { text: 'The method contract (kvsieve.method/v1)', link: '/guide/method-contract' },
      { text: 'Writing a new method', link: '/guide/new-method' },
      { text: 'Evaluation', link: '/guide/evaluation' },
      { text: 'Benchmarks', link: '/guide/benchmarks' },
      { text: 'Troubleshooting', link: '/guide/troubleshooting' },
    ],
  },
];

const methods: DefaultTheme.SidebarItem[] = [
  {
    text: 'Methods',
    items: [
      { text: 'Overview', link: '/methods/' },
      ...METHODS.map(([slug, text]) => ({ text, link: `/methods/${slug}` })),
    ],
  },
];

export default defineConfig({
  title: 'kvsieve',
  description: 'KV-cache compression for LLM inference in TypeScript, in Node and the browser.',
  base,
  ...(outDir ? { outDir } : {}),
  cleanUrls: true,
  lastUpdated: false,
  // Declared so browsers do not ask for a /favicon.ico the site does not have (a 404 on every page).
  head: [['link', { rel: 'icon', type: 'image/svg+xml', href: `${base}favicon.svg` }]],
  // Dead internal links fail the build (VitePress's own check); every link and anchor of the built
  // site is checked after it by docs/scripts/check-links.mjs (pnpm docs:check-links).
  ignoreDeadLinks: false,
  // The generated API pages and includes are built into pages, not served on their own.
  srcExclude: ['**/.generated/**', 'results/**/*.md', 'scripts/**', 'test/**'],
  themeConfig: {
    nav: [
      { text: 'Guides', link: '/guide/getting-started' },
      { text: 'Methods', link: '/methods/' },
      { text: 'CLI', link: '/reference/cli' },
      { text: 'API', link: '/reference/api/' },
    ],
    sidebar: {
      '/guide/': guide,
      '/methods/': methods,
      '/reference/': [
        { text: 'Reference', items: [{ text: 'CLI', link: '/reference/cli' }] },
        { text: 'API', link: '/reference/api/', items: apiSidebar },
      ],
    },
    outline: [2, 3],
    search: { provider: 'local' },
    socialLinks: [{ icon: 'github', link: 'https://github.com/kvsieve/kvsieve' }],
  },
  vite: {
    define: { __DOCS_VERSION__: JSON.stringify(version), __DOCS_VERSIONED__: JSON.stringify(versioned) },
  },
});
