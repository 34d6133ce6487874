// Generates the parts of the docs site that come from the code, so they cannot drift from it:
//   reference/api/            typedoc + typedoc-plugin-markdown (fails on an undocumented export or a broken {@link})
//   .generated/options/       each method's options table, from its defineMethod declaration
//   .generated/cli/           the CLI reference, from the CLI's own help text
//   .generated/measured/      measured-results sections of the method READMEs and the eval sweep in docs/results
// Reads the built packages (dist/): run after `turbo run build` (pnpm docs:build does).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const docs = dirname(dirname(fileURLToPath(import.meta.url)));
const root = dirname(docs);
const gen = join(docs, '.generated');
const skipApi = process.argv.includes('--skip-api');

rmSync(gen, { recursive: true, force: true });
for (const d of ['options', 'cli', 'measured']) mkdirSync(join(gen, d), { recursive: true });

export const METHODS = [
  'snapkv',
  'pyramidkv',
  'h2o',
  'streamingllm',
  'adakv',
  'chunkkv',
  'structkv',
  'surfacelogickv',
];

// A cell of a Markdown table: pipes escaped, line breaks flattened.
const cell = (s) =>
  String(s)
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ');

// ---- options tables --------------------------------------------------------------------------
async function optionsTables() {
  for (const name of METHODS) {
    const mod = await import(pathToFileURL(join(root, `packages/methods-${name}/dist/index.js`)).href);
    const defs = Object.entries(mod).filter(
      ([, v]) => v && typeof v === 'object' && typeof v.createMethod === 'function' && v.options,
    );
    if (defs.length === 0) throw new Error(`@kvsieve/methods-${name} exports no defineMethod definition`);
    const parts = [];
    for (const [exportName, def] of defs) {
      const rows = Object.entries(def.options).map(
        ([opt, spec]) =>
          `| \`${opt}\` | ${spec.presence === 'required' ? 'required' : cell(spec.defaultText ?? '–')} | ${cell(spec.allowed)} | ${cell(spec.doc)} |`,
      );
      parts.push(
        [
          defs.length > 1 ? `#### \`${def.name}\` (\`${exportName}\`)\n` : '',
          `${cell(def.summary)}\n`,
          '| option | default | allowed | meaning |',
          '| --- | --- | --- | --- |',
          ...rows,
          '',
          `Generated from \`${exportName}\`'s declaration in \`@kvsieve/methods-${name}\` (the same text \`kvsieve methods ${def.name}\` prints).`,
          '',
        ].join('\n'),
      );
    }
    writeFileSync(join(gen, 'options', `${name}.md`), parts.join('\n'));
  }
}

// ---- CLI reference ---------------------------------------------------------------------------
const COMMANDS = ['run', 'inspect', 'methods', 'eval', 'calibrate', 'conformance'];
function cli(args) {
  return execFileSync(process.execPath, [join(root, 'packages/cli/dist/bin.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
}
function cliReference() {
  const fence = (t) => `\`\`\`text\n${t.trimEnd()}\n\`\`\`\n`;
  writeFileSync(join(gen, 'cli', 'usage.md'), fence(cli(['help'])));
  writeFileSync(
    join(gen, 'cli', 'version.md'),
    `\`kvsieve --version\` at build time: \`${cli(['--version']).trim()}\`\n`,
  );
  for (const c of COMMANDS) writeFileSync(join(gen, 'cli', `${c}.md`), fence(cli(['help', c])));
  writeFileSync(join(gen, 'cli', 'methods-list.md'), fence(cli(['methods'])));
}

// ---- measured results ------------------------------------------------------------------------
// A README section (a "## " heading up to the next one), its headings moved down one level to sit
// under the page's own, relative links pointed at the repository.
const REPO = 'https://github.com/kvsieve/kvsieve/blob/main';
function section(file, heading) {
  const text = readFileSync(join(root, file), 'utf8');
  const base = dirname(file);
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`${file} has no "## ${heading}" section (docs/scripts/generate.mjs)`);
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;
  return lines
    .slice(start, end)
    .map((l) => (/^#{2,5} /.test(l) ? `#${l}` : l))
    .join('\n')
    .replace(/\]\((?!https?:|#)([^)]+)\)/g, (_, p) => `](${REPO}/${join(base, p)})`)
    .concat(`\n\n_From [${file}](${REPO}/${file})._\n`);
}

// Which README sections hold each method's measurements.
const MEASURED = {
  snapkv: ['Fidelity on stories260K'],
  pyramidkv: ['Fidelity on stories260K'],
  h2o: ['Fidelity on stories260K'],
  streamingllm: ['Fidelity on stories260K'],
  adakv: ['Fidelity on stories260K'],
  chunkkv: ['Fidelity on stories260K', 'Layer-wise index reuse on stories260K'],
  structkv: [
    'Measured on stories260K: pivots and prefill compute saved',
    'Fidelity beside the other methods',
  ],
  surfacelogickv: ['Measured on stories260K'],
};

// The kvsieve eval sweep committed in docs/results: this method's rows of the summary and its plots.
function sweep(name) {
  const dir = join(docs, 'results/kvsieve-recall');
  const summary = readFileSync(join(dir, 'summary.md'), 'utf8').split('\n');
  const header = summary.findIndex((l) => l.startsWith('| method | budget |'));
  if (header < 0) throw new Error('docs/results/kvsieve-recall/summary.md: no summary table');
  const rows = summary
    .slice(header + 2)
    .filter((l) => l.startsWith(`| ${name} |`) || l.startsWith('| full |'));
  const ownRows = rows.filter((l) => l.startsWith(`| ${name} |`));
  if (ownRows.length === 0) throw new Error(`docs/results/kvsieve-recall/summary.md has no rows for ${name}`);
  const command = readFileSync(join(dir, 'README.md'), 'utf8')
    .match(/```sh\n([\s\S]*?)```/)?.[1]
    ?.trim();
  const plots = readdirSync(join(dir, 'plots'))
    .filter((f) => f.startsWith(`niah-niah_single-${name}-`) && f.endsWith('.svg'))
    .sort((a, b) => Number.parseInt(a.split('-').at(-1), 10) - Number.parseInt(b.split('-').at(-1), 10));
  return [
    '### On the project model: needle in a haystack (kvsieve eval)',
    '',
    'From the sweep committed in `docs/results/kvsieve-recall` (CPU backend, 1K/2K/4K tokens, depths 0/50/100%, one sample per cell).',
    '**The scores do not rank methods**: the model answers 1 of the 9 prompts even with the full cache, so the score',
    'column is the same everywhere; top-1 agreement and KL against the full cache are what differ. See',
    '[Evaluation](/guide/evaluation#the-committed-sweep) for the whole table and how to read it.',
    '',
    summary[header],
    summary[header + 1],
    ...rows,
    '',
    'Reproduce (from the repository root, after `bash scripts/setup.sh`; about 8.5 minutes on 2 cores for every method):',
    '',
    '```sh',
    command,
    '```',
    '',
    'Score by needle depth (rows) and length (columns), one heatmap per budget:',
    '',
    ...plots.map((f) => `![${f}](/results/kvsieve-recall/plots/${f})`),
    '',
  ].join('\n');
}

// The README's opening (between its title and first section): the method's algorithm in its
// package's words.
function intro(name) {
  const file = `packages/methods-${name}/README.md`;
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const end = lines.findIndex((l, i) => i > 0 && /^## /.test(l));
  return lines
    .slice(1, end)
    .join('\n')
    .replace(/\]\(#([^)]+)\)/g, (_, a) => `](${REPO}/${file}#${a})`)
    .replace(/\]\((?!https?:|#)([^)]+)\)/g, (_, p) => `](${REPO}/${join(dirname(file), p)})`)
    .trim()
    .concat(`\n\n_From [${file}](${REPO}/${file})._\n`);
}

// Extra README sections a method page shows in full (assumptions of the reconstructions, rules).
const DETAILS = {
  structkv: ['The online pivot rule', 'Cost and backends', 'Assumptions'],
  surfacelogickv: ['Profile format (`kvsieve.slkv-profile/v1`)', 'Probes', 'Assumptions'],
  h2o: ['Decode-time form: `h2oDecode`'],
};

function measured() {
  mkdirSync(join(gen, 'methods'), { recursive: true });
  for (const name of METHODS) {
    writeFileSync(join(gen, 'methods', `${name}-intro.md`), intro(name));
    const details = (DETAILS[name] ?? []).map((h) => section(`packages/methods-${name}/README.md`, h));
    writeFileSync(join(gen, 'methods', `${name}-details.md`), details.join('\n\n'));
  }
  for (const name of METHODS) {
    const parts = MEASURED[name].map((h) => section(`packages/methods-${name}/README.md`, h));
    parts.push(sweep(name));
    writeFileSync(join(gen, 'measured', `${name}.md`), parts.join('\n\n'));
  }
}

// ---- API reference ---------------------------------------------------------------------------
function api() {
  rmSync(join(docs, 'reference/api'), { recursive: true, force: true });
  execFileSync(join(root, 'node_modules/.bin/typedoc'), ['--options', join(docs, 'typedoc.config.mjs')], {
    stdio: 'inherit',
    cwd: root,
  });
}

// Sections of the READMEs that guides include as they are (one source for each fact).
const GUIDE_SECTIONS = {
  'model-files-table': ['README.md', 'Model files'],
  'runtime-tokenizers': ['packages/runtime/README.md', 'Tokenizers and chat templates'],
  'runtime-bad-files': ['packages/runtime/README.md', 'Bad model files'],
  'runtime-memory': ['packages/runtime/README.md', 'Weight types and memory'],
  'runtime-checked': ['packages/runtime/README.md', 'Checked against'],
  'runtime-bench': ['packages/runtime/README.md', 'Benchmark'],
  'webgpu-adapter': ['packages/kernels-webgpu/README.md', 'Getting an adapter'],
  'webgpu-behaviour': ['packages/kernels-webgpu/README.md', 'Behaviour'],
  'webgpu-bench': ['packages/kernels-webgpu/README.md', 'Benchmark'],
  'wasm-options': ['packages/kernels-wasm/README.md', 'Options and modules'],
  'wasm-behaviour': ['packages/kernels-wasm/README.md', 'Behaviour'],
  'wasm-measured': ['packages/kernels-wasm/README.md', 'What is measured'],
  'wasm-speed': ['packages/kernels-wasm/README.md', 'Speed'],
  'eval-fidelity-command': ['packages/eval/README.md', 'The fidelity command'],
  'eval-fidelity': ['packages/eval/README.md', 'Fidelity on stories260K'],
  'eval-method-specific': ['packages/eval/README.md', 'Method-specific measurements'],
  'eval-sweeps': ['packages/eval/README.md', 'Long-context sweeps'],
  'contributing-method': ['CONTRIBUTING.md', 'Writing a method'],
  'h2o-decode-bytes': ['packages/methods-h2o/README.md', 'Decode-time form: `h2oDecode`'],
};
function guideSections() {
  mkdirSync(join(gen, 'guide'), { recursive: true });
  for (const [id, [file, heading]] of Object.entries(GUIDE_SECTIONS)) {
    writeFileSync(join(gen, 'guide', `${id}.md`), section(file, heading));
  }
  // The committed sweep's README, for the evaluation guide (its links point into docs/results).
  const results = readFileSync(join(docs, 'results/kvsieve-recall/README.md'), 'utf8')
    .replace(/^# .*\n/, '')
    .replace(/\]\((?!https?:|#)([^)]+)\)/g, (_, p) => `](${REPO}/docs/results/kvsieve-recall/${p})`);
  writeFileSync(join(gen, 'guide', 'results-readme.md'), results);
  writeFileSync(
    join(gen, 'guide', 'results-summary.md'),
    readFileSync(join(docs, 'results/kvsieve-recall/summary.md'), 'utf8').replace(/^# .*\n/, ''),
  );
}

const t0 = Date.now();
guideSections();
await optionsTables();
cliReference();
measured();
if (!skipApi) api();
console.log(`docs: generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
