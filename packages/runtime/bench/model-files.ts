/**
 * The files users download, rebuilt here and run against llama.cpp. For each architecture
 * (Llama-3.2-1B, Qwen2.5-0.5B, Qwen3-0.6B and SmolLM2-135M widths, heads and vocabularies with chat
 * templates; 2 layers) and each GGUF weight type (random valid blocks; llama.cpp's fallback types
 * where a row does not fit a 256-block), it renders a chat turn with the file's own template,
 * checks the prompt ids against llama.cpp's tokenization, runs llama.cpp greedily (a child process:
 * node-llama-cpp, CPU, F32 KV cache) and then kvsieve on each backend fed the same tokens, so every
 * step is compared: our argmax must be llama.cpp's token, or a near-tie (see chat-agreement.ts).
 * Prints a table (tokens equal / near-tie steps, largest |Δlogit| and the logit spread, resident
 * weight bytes vs the file's tensor bytes, load time, seconds per step) and, for each Q4_K_M file,
 * whether `kvsieve run --chat` printed llama.cpp's continuation. Exit 1 if any check fails.
 *
 *   pnpm --filter @kvsieve/runtime model-files [--types all|default|Q4_0,Q4_K_M,...]
 *     [--archs all|Qwen3-0.6B,...] [--backends cpu,wasm,webgpu] [--steps 32] [--layers 2]
 *     [--logit-scale 1] [--no-cli]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Backend, CpuBackend } from '@kvsieve/core';
import { loadModel, type Model, renderChat } from '../src/index.js';
import { ARCH_SPECS, writeArchGguf } from '../test/fixtures/arch-gguf.js';
import {
  type Agreement,
  CHAT_PROMPT,
  compareWithLlamaCpp,
  embedScale,
  llamaCppChat,
  logitSpread,
  NEAR_TIE,
  type Reference,
  typeOfFor,
} from '../test/fixtures/chat-agreement.js';
import { wasmBackend, webgpuBackend } from './backends.js';

const ALL_TYPES = [
  'F16',
  'Q4_0',
  'Q4_1',
  'Q5_0',
  'Q5_1',
  'Q8_0',
  'Q2_K',
  'Q3_K',
  'Q4_K',
  'Q5_K',
  'Q6_K',
  'IQ4_NL',
  'IQ4_XS',
  'Q4_K_M',
];
const DEFAULT_TYPES = ['Q4_0', 'Q8_0', 'Q4_K', 'Q6_K', 'Q4_K_M'];

const { values: o } = parseArgs({
  options: {
    types: { type: 'string', default: 'default' },
    archs: { type: 'string', default: 'all' },
    backends: { type: 'string', default: 'cpu,wasm,webgpu' },
    steps: { type: 'string', default: '32' },
    layers: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
    'layer-scale': { type: 'string', default: '0.05' },
    'logit-scale': { type: 'string', default: '1' },
    'no-cli': { type: 'boolean', default: false },
  },
});
const steps = Number(o.steps);
const layers = Number(o.layers);
const logitScale = Number(o['logit-scale']);
// F32 is accepted too: it isolates the architecture from the formats (llama.cpp then agrees to ~1e-5).
const types = o.types === 'all' ? ALL_TYPES : o.types === 'default' ? DEFAULT_TYPES : o.types!.split(',');
for (const t of types) {
  if (t !== 'F32' && !ALL_TYPES.includes(t))
    throw new Error(`--types: unknown type ${t}; known: ${ALL_TYPES}`);
}
const specs =
  o.archs === 'all' ? ARCH_SPECS : o.archs!.split(',').map((n) => ARCH_SPECS.find((s) => s.name === n)!);
if (specs.some((s) => !s))
  throw new Error(`--archs: one of ${o.archs} is not in ${ARCH_SPECS.map((s) => s.name)}`);
const backends = o.backends!.split(',');

const progress = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

async function makeBackend(name: string): Promise<Backend & { destroy?(): void }> {
  if (name === 'cpu') return new CpuBackend();
  if (name === 'wasm') return wasmBackend();
  if (name === 'webgpu') return webgpuBackend();
  throw new Error(`--backends: ${name} is not cpu, wasm or webgpu`);
}

/**
 * `kvsieve run --chat` on the file (CPU, greedy, --json), spawned from the CLI package's source: the
 * ids it printed must be llama.cpp's, up to an end-of-generation token or `upTo` (the first near-tie,
 * where two greedy runs may part). Null when they agree, else what differed.
 */
function cliDisagreement(path: string, model: Model, ref: Reference, upTo: number): string | null {
  const cli = fileURLToPath(new URL('../../cli/src/bin.ts', import.meta.url));
  const args = ['run', path, '--chat', '--prompt', CHAT_PROMPT, '--max-tokens', String(steps), '--json'];
  const stdout = execFileSync(
    process.execPath,
    ['--conditions=@kvsieve/source', '--import', 'tsx', cli, ...args],
    {
      encoding: 'utf8',
      timeout: 900_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const got = (JSON.parse(stdout) as { tokens: number[] }).tokens;
  const eog = ref.tokens.findIndex((t) => model.tokenizer.eosIds.includes(t));
  const n = Math.min(upTo, eog < 0 ? steps : eog);
  const same = got.length >= n && got.slice(0, n).every((t, k) => t === ref.tokens[k]);
  return same ? null : `printed ${got.slice(0, n)}; llama.cpp ${ref.tokens.slice(0, n)}`;
}

interface Measured extends Agreement {
  residentBytes: number;
  loadSeconds: number;
}

const rows: string[] = [];
let failed = false;
const fail = (why: string) => {
  failed = true;
  progress(`  FAILED: ${why}`);
};
for (const spec of specs) {
  for (const type of types) {
    const dir = mkdtempSync(join(tmpdir(), 'kvsieve-model-files-'));
    try {
      const path = join(dir, `${spec.name}-${type}.gguf`);
      let t0 = performance.now();
      const scales = { embed: embedScale(spec, logitScale), layer: Number(o['layer-scale']) };
      const file = writeArchGguf(path, spec, layers, typeOfFor(type, layers), Number(o.seed), scales);
      progress(`${spec.name} ${type}: written (${mib(file.tensorBytes)}) in ${seconds(t0).toFixed(1)} s`);
      const recipe = type === 'Q4_K_M' ? ['Q4_K', 'Q6_K'] : [type];
      const fallbacks = new Set([...file.types.values()].filter((t) => t !== 'F32' && !recipe.includes(t)));
      const measured = new Map<string, Measured>();
      let ref: Reference | undefined;
      let prompt: number[] = [];
      let cli: string | null | undefined;
      for (const b of backends) {
        const backend = await makeBackend(b);
        try {
          t0 = performance.now();
          const model = await loadModel(path, { backend });
          const loadSeconds = seconds(t0);
          try {
            if (!ref) {
              // As `kvsieve run --chat` does: the file's template, then ids with nothing added.
              const chat = renderChat(model.tokenizer, [{ role: 'user', content: CHAT_PROMPT }]);
              prompt = model.tokenizer.encode(chat.text, { addSpecial: false });
              progress(`${spec.name} ${type}: llama.cpp on ${prompt.length} prompt tokens`);
              ref = llamaCppChat(path, chat.text, steps, dir);
              if (JSON.stringify(ref.promptTokens) !== JSON.stringify(prompt)) {
                fail(`prompt ids ${prompt} differ from llama.cpp's ${ref.promptTokens}`);
              }
            }
            progress(`${spec.name} ${type}: ${b} (loaded in ${loadSeconds.toFixed(1)} s)`);
            const agreement = await compareWithLlamaCpp(model, prompt, ref);
            measured.set(b, { ...agreement, residentBytes: model.weightBytes(), loadSeconds });
            if (b === 'cpu' && type === 'Q4_K_M' && !o['no-cli']) {
              cli = cliDisagreement(path, model, ref, agreement.nearTies[0]?.step ?? steps);
            }
          } finally {
            model.dispose();
          }
        } finally {
          backend.destroy?.();
        }
      }
      const spread = ref ? logitSpread(ref).toFixed(2) : '?';
      const at = (xs: { step: number; gap: number }[]) =>
        xs.map((x) => `${x.step} (${x.gap.toExponential(1)})`).join(', ');
      for (const [b, r] of measured) {
        if (r.failures.length)
          fail(`${b}: llama.cpp's token more than ${NEAR_TIE} below ours at ${at(r.failures)}`);
        const ratio = r.residentBytes / file.tensorBytes;
        if (Math.abs(ratio - 1) > 0.05)
          fail(`${b}: resident bytes ${r.residentBytes} vs file ${file.tensorBytes}`);
        const tokens = [
          `${r.equal}/${steps}`,
          r.nearTies.length ? `near-tie at step ${at(r.nearTies)}` : '',
          r.failures.length ? `FAILED at step ${at(r.failures)}` : '',
        ]
          .filter(Boolean)
          .join('; ');
        const label = `${type}${fallbacks.size ? ` (+${[...fallbacks].join(', ')})` : ''}`;
        rows.push(
          `| ${spec.name} | ${label} | ${b} | ${tokens} | ${r.maxDelta.toExponential(1)} (σ ${spread}) | ${mib(r.residentBytes)} / ${mib(file.tensorBytes)} (${(100 * ratio).toFixed(2)}%) | ${r.loadSeconds.toFixed(1)} | ${r.stepSeconds.toFixed(2)} |`,
        );
      }
      if (cli !== undefined) {
        if (cli) fail(`kvsieve run --chat: ${cli}`);
        rows.push(
          `| ${spec.name} | ${type} | kvsieve run --chat (cpu) | ${cli ?? "llama.cpp's tokens"} | | | | |`,
        );
      }
      progress(rows.slice(-measured.size - (cli === undefined ? 0 : 1)).join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
console.log(
  `\n${layers}-layer files with real widths and vocabularies, random valid blocks (layers ±${o['layer-scale']}, embedding scaled for logits of σ ≈ ${0.1 * logitScale}); llama.cpp (node-llama-cpp 3.22.1, CPU, F32 KV) continues the chat prompt greedily for ${steps} steps and kvsieve (F32 KV) is fed the same tokens; near-tie: llama.cpp's token within ${NEAR_TIE} of our top logit (step and gap listed)\n`,
);
console.log(
  '| architecture | weights | backend | tokens equal | max \\|Δlogit\\| | resident / file tensor bytes | load s | s/step |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
process.exit(failed ? 1 : 0);
