import type { CommonArgs } from '../args.js';
import { formatBytes, formatRanges, table } from '../format.js';
import type { CliIO } from '../io.js';
import type { ModuleImporter } from '../resolve.js';
import { backendJson, describeBackend, openSession } from './shared.js';

/** One layer of `kvsieve inspect`'s result (and of its `--json` output). */
export interface InspectLayer {
  /** Layer index, 0-based. */
  layer: number;
  /** Tokens the layer computed on (fewer than the prompt after structural propagation). */
  tokens: number;
  /** The method's note for this layer, when it gave one. */
  note?: string;
  /** Tokens passed on to deeper layers, when the method propagated fewer. */
  propagated?: number;
  /** Per KV head, the original positions it kept. */
  heads: number[][];
}

/** `kvsieve inspect`: prefill with the method and show, per layer and KV head, which positions stayed. */
export async function inspectCommand(
  a: CommonArgs,
  io: CliIO,
  importer?: ModuleImporter,
): Promise<InspectLayer[]> {
  const s = await openSession(a, io, importer);
  try {
    const pre = await s.model.start(s.ids, {
      kvDtype: s.kvDtype,
      ...(s.method ? { method: s.method } : {}),
      ...(a.chunkSize ? { chunkSize: a.chunkSize } : {}),
      onLayer: s.onLayer,
    });
    const layers: InspectLayer[] = [];
    try {
      for (const st of pre.layers) {
        const positions = await pre.cache.layer(st.layer).positions();
        layers.push({
          layer: st.layer,
          tokens: st.tokens,
          ...(st.note ? { note: st.note } : {}),
          ...(st.propagated !== undefined ? { propagated: st.propagated } : {}),
          heads: positions.map((p) => Array.from(p)),
        });
      }
      const kept = pre.usedBytes();
      const full = s.model.fullCacheBytes(s.ids.length, pre.cache.dtype);
      if (a.json) {
        io.out(
          `${JSON.stringify({ model: s.model.source, backend: backendJson(s.choice), method: a.method, methodOptions: a.methodOptions, promptTokens: s.ids.length, cache: { fullBytes: full, keptBytes: kept }, layers }, null, 2)}\n`,
        );
      } else {
        const rows = [['layer', 'head', 'kept', 'positions']];
        for (const l of layers) {
          l.heads.forEach((p, h) =>
            rows.push([String(l.layer), String(h), `${p.length}/${l.tokens}`, formatRanges(p)]),
          );
          if (l.note) rows.push([String(l.layer), '', '', `note: ${l.note}`]);
          if (l.propagated !== undefined)
            rows.push([String(l.layer), '', '', `deeper layers compute on ${l.propagated} tokens`]);
        }
        io.out(
          `${table(rows)}\n\ncache: ${formatBytes(kept)} kept of ${formatBytes(full)} full (${((100 * kept) / full).toFixed(1)}%), prompt ${s.ids.length} tokens\nbackend: ${describeBackend(s.choice)}\n`,
        );
      }
      return layers;
    } finally {
      pre.dispose();
    }
  } finally {
    s.model.dispose();
  }
}
