import { type GenerationSummary, generate, type Model } from '@kvsieve/runtime';
import type { RunArgs } from '../args.js';
import { formatBytes, formatRanges, table } from '../format.js';
import type { CliIO } from '../io.js';
import type { ModuleImporter } from '../resolve.js';
import { DecodeProfile } from './profile.js';
import { backendJson, describeBackend, openSession, type Session } from './shared.js';

/** `kvsieve run`: stream the generated text to stdout, then a summary (stderr, or JSON on stdout). */
export async function runCommand(
  a: RunArgs,
  io: CliIO,
  importer?: ModuleImporter,
): Promise<GenerationSummary> {
  const s = await openSession(a, io, importer);
  try {
    const it = generate(s.model, s.ids, {
      maxTokens: a.maxTokens,
      temperature: a.temperature,
      topK: a.topK,
      topP: a.topP,
      seed: a.seed,
      stop: a.stop,
      ...(s.method ? { method: s.method } : {}),
      ...(a.decodeBudget !== undefined ? { decodeBudget: a.decodeBudget } : {}),
      kvDtype: s.kvDtype,
      ...(a.chunkSize ? { chunkSize: a.chunkSize } : {}),
      onPrefillLayer: s.onLayer,
    });
    const profile = a.profile ? new DecodeProfile(s.choice.backend) : null;
    let r = await it.next();
    // The first token comes from the prefill's logits: decode steps start after it.
    profile?.begin();
    while (!r.done) {
      if (!a.json) io.out(r.value.text);
      r = await it.next();
    }
    const sum = r.value;
    // A step also ran for a stop token, which is not among the generated tokens.
    const steps = Math.max(0, sum.generatedTokens - 1) + (sum.stopReason === 'stopToken' ? 1 : 0);
    const profileText = profile ? await profile.end(steps) : null;
    if (a.json) {
      io.out(`${JSON.stringify(summaryJson(a, s, sum), null, 2)}\n`);
    } else {
      io.out('\n');
      io.err(`${summaryTable(a, s, sum)}\n`);
    }
    if (profileText) io.err(`${profileText}\n`);
    return sum;
  } finally {
    s.model.dispose();
  }
}

function summaryJson(a: RunArgs, s: Session, sum: GenerationSummary) {
  const model = s.model;
  return {
    model: model.source,
    weights: { bytes: model.weightBytes(), byDtype: Object.fromEntries(model.weightBytesByDtype()) },
    backend: backendJson(s.choice),
    method: a.method,
    methodOptions: a.methodOptions,
    decodeBudget: a.decodeBudget ?? null,
    text: sum.text,
    tokens: sum.tokens,
    stopReason: sum.stopReason,
    promptTokens: sum.promptTokens,
    generatedTokens: sum.generatedTokens,
    prefill: { seconds: sum.prefill.seconds, tokensPerSecond: sum.prefill.tokensPerSecond },
    decode: sum.decode,
    cache: sum.cache,
    layers: sum.prefill.layers.map((l) => ({
      layer: l.layer,
      tokens: l.tokens,
      kept: Array.from(l.kept),
      note: l.note,
      propagated: l.propagated,
    })),
  };
}

/** Resident weight bytes and their storage types ("762.8 MiB: q4_k 445.5 MiB, q6_k 317.1 MiB, …"). */
function weightsLine(model: Model): string {
  const parts = model.weightBytesByDtype().map(([dtype, bytes]) => `${dtype} ${formatBytes(bytes)}`);
  return `${formatBytes(model.weightBytes())} (${parts.join(', ')})`;
}

function summaryTable(a: RunArgs, s: Session, sum: GenerationSummary): string {
  const model = s.model;
  const ratio = sum.cache.fullBytes > 0 ? (100 * sum.cache.keptBytes) / sum.cache.fullBytes : 100;
  return [
    '',
    table([
      ['backend', describeBackend(s.choice)],
      ['KV cache', sum.cache.dtype],
      [
        'method',
        a.method
          ? `${a.method} ${JSON.stringify(a.methodOptions)}${a.decodeBudget ? `, decode budget ${a.decodeBudget}` : ''}`
          : 'none (full cache)',
      ],
      ['weights', weightsLine(model)],
      ['prompt', `${sum.promptTokens} tokens`],
      ['prefill', `${sum.prefill.seconds.toFixed(2)} s, ${sum.prefill.tokensPerSecond.toFixed(1)} tokens/s`],
      [
        'decode',
        `${sum.generatedTokens} tokens, ${sum.decode.seconds.toFixed(2)} s, ${sum.decode.tokensPerSecond.toFixed(1)} tokens/s (${sum.stopReason})`,
      ],
      [
        'cache',
        `${formatBytes(sum.cache.keptBytes)} kept of ${formatBytes(sum.cache.fullBytes)} full (${ratio.toFixed(1)}%)`,
      ],
      ...(a.method ? [['kept', keptPerLayer(sum)], ...notes(sum)] : []),
    ]),
  ].join('\n');
}

/** After prefill, entries per KV head of each layer (a range where heads differ). */
function keptPerLayer(sum: GenerationSummary): string {
  const cells = sum.prefill.layers.map((l) => {
    const lo = Math.min(...l.kept);
    const hi = Math.max(...l.kept);
    return lo === hi ? `${lo}` : `${lo}-${hi}`;
  });
  return `${cells.join(' ')} per KV head, layers 0-${cells.length - 1} (prompt ${sum.promptTokens})`;
}

/** The methods' notes (e.g. "nothing evicted"), once per distinct text with the layers it applies to. */
function notes(sum: GenerationSummary): string[][] {
  const byText = new Map<string, number[]>();
  for (const l of sum.prefill.layers) {
    if (l.note) byText.set(l.note, [...(byText.get(l.note) ?? []), l.layer]);
  }
  return [...byText].map(([text, layers]) => ['note', `layers ${formatRanges(layers)}: ${text}`]);
}
