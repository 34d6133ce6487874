import { type GenerationSummary, generate } from '@kvsieve/runtime';
import type { RunArgs } from '../args.js';
import { formatBytes, table } from '../format.js';
import type { CliIO } from '../io.js';
import type { ModuleImporter } from '../resolve.js';
import { openSession } from './shared.js';

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
      ...(a.chunkSize ? { chunkSize: a.chunkSize } : {}),
      onPrefillLayer: s.onLayer,
    });
    let r = await it.next();
    while (!r.done) {
      if (!a.json) io.out(r.value.text);
      r = await it.next();
    }
    const sum = r.value;
    if (a.json) {
      io.out(`${JSON.stringify(summaryJson(a, s.model.source, sum), null, 2)}\n`);
    } else {
      io.out('\n');
      io.err(`${summaryTable(a, sum)}\n`);
    }
    return sum;
  } finally {
    s.model.dispose();
  }
}

function summaryJson(a: RunArgs, source: string, sum: GenerationSummary) {
  return {
    model: source,
    backend: a.backend,
    method: a.method,
    methodOptions: a.methodOptions,
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

function summaryTable(a: RunArgs, sum: GenerationSummary): string {
  const ratio = sum.cache.fullBytes > 0 ? (100 * sum.cache.keptBytes) / sum.cache.fullBytes : 100;
  return [
    '',
    table([
      ['backend', a.backend],
      ['method', a.method ? `${a.method} ${JSON.stringify(a.methodOptions)}` : 'none (full cache)'],
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
    ]),
  ].join('\n');
}
