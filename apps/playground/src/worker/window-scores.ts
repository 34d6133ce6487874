import type { CompressionMethod, LayerContext, MethodRun } from '@kvsieve/core';

/** Per layer, per KV head, each prompt position's observation-window score (NaN: not scored). */
export type WindowScores = Map<number, Float32Array[]>;

/**
 * The method, unchanged in what it decides, with each layer's observation-window scores recorded
 * for display: after the method's own decision, the context's `prefixScores` (the score every
 * window-scoring method starts from, cached per reduction, so SnapKV-style methods pay nothing
 * extra) is read back and placed at the tokens' original positions. The window itself is never
 * scored (it is always kept); methods that read no window (StreamingLLM) record nothing.
 */
export function recordWindowScores(
  method: CompressionMethod,
  promptLength: number,
  scores: WindowScores,
): CompressionMethod {
  return {
    spec: method.spec,
    name: method.name,
    options: method.options,
    begin(model, prompt) {
      const run = method.begin(model, prompt);
      const wrapped: MethodRun = {
        observe: run.observe,
        async afterLayer(ctx: LayerContext) {
          const decision = await run.afterLayer(ctx);
          if (ctx.window > 0 && ctx.window < ctx.length) {
            const prefix = ctx.length - ctx.window;
            const data = await ctx.prefixScores({ reduce: 'mean' }).read();
            const kvHeads = data.length / prefix;
            scores.set(
              ctx.layer,
              Array.from({ length: kvHeads }, (_, h) => {
                const row = new Float32Array(promptLength).fill(Number.NaN);
                for (let i = 0; i < prefix; i++) row[ctx.positions[i]!] = data[h * prefix + i]!;
                return row;
              }),
            );
          }
          return decision;
        },
        ...(run.afterDecodeStep ? { afterDecodeStep: (ctx) => run.afterDecodeStep!(ctx) } : {}),
        ...(run.dispose ? { dispose: () => run.dispose!() } : {}),
      };
      return wrapped;
    },
  };
}
