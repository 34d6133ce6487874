import { type CompressionMethod, OptionError } from '@kvsieve/core';
import type { DecodeSession, Model } from '@kvsieve/runtime';
import { argmax, klFromLogProbs, logSoftmax } from '../fidelity/divergence.js';

/** One prompt's run, as {@link runSample} returns it. */
export interface SampleRun {
  /** The first answer. */
  readonly prediction: string;
  /** Every answer, follow-up questions' included. */
  readonly answers: readonly string[];
  /** Generated ids of every answer (end-of-sequence and stop-string tokens included). */
  readonly tokens: readonly number[];
  /**
   * Log-probabilities of each step's next token while this run's context equals the reference's
   * (every step for the reference itself).
   */
  readonly logProbs: readonly Float64Array[];
  /** Cache sizes after prefill. */
  readonly bytes: {
    /** Bytes of the entries the cache holds. */
    readonly used: number;
    /** Bytes the cache has allocated (rows reserved for growth included). */
    readonly allocated: number;
    /** Bytes a full cache of the prompt takes in the same dtype. */
    readonly full: number;
  };
  /** Compared with the reference run (absent for the reference). */
  readonly fidelity?: Fidelity;
  /** Wall-clock seconds from the run's start (`t0`): its prefill, or its share of a shared one, and decoding. */
  readonly seconds: number;
}

/**
 * Next-token agreement with the full cache over the steps where both runs have the same context:
 * from the first answer token up to and including the first step where they pick different
 * tokens. Step 0 reads the prompt's own hidden states, so it differs only for methods that
 * propagate fewer rows to deeper layers; later steps read the compressed cache.
 */
export interface Fidelity {
  /** Steps compared. */
  readonly steps: number;
  /** Fraction of compared steps with the same greedy token. */
  readonly top1: number;
  /** Mean KL(full ‖ compressed) over the compared steps, nats. */
  readonly kl: number;
  /** First step with a different token, -1 when the whole answer matched. */
  readonly firstMismatch: number;
}

/**
 * Prefill `ids` (compressed by `method`, if any), then greedy-decode up to `maxNewTokens` tokens,
 * stopping at an end-of-sequence id or at the first stop string (cut from the prediction). With a
 * `reference` run, each step is compared with it while the contexts agree (see {@link Fidelity}).
 * `followUps` are later questions asked in turn: the previous answer's tokens stay in the cache,
 * then the question's ids are fed and its answer decoded the same way (fidelity: first turn only).
 * Decoding goes through the session, so a method's decode-time rules apply as they would in use.
 */
export async function runSample(
  model: Model,
  ids: readonly number[],
  o: SampleOptions & { method?: CompressionMethod },
): Promise<SampleRun> {
  const t0 = performance.now();
  const session = await model.start(ids, o.method ? { method: o.method } : {});
  return decodeSample(model, session, o, t0);
}

/** How {@link runSample} and {@link decodeSample} decode and compare. */
export interface SampleOptions {
  readonly maxNewTokens: number;
  readonly stop: readonly string[];
  readonly reference?: SampleRun;
  readonly followUps?: readonly (readonly number[])[];
}

/**
 * {@link runSample} from a session that has prefilled the prompt (its own, or one of a shared
 * prefill): decodes and compares exactly as runSample does, and disposes the session. `t0` is when
 * this run's clock started (`seconds` counts from it).
 */
export async function decodeSample(
  model: Model,
  session: DecodeSession,
  o: SampleOptions,
  t0: number = performance.now(),
): Promise<SampleRun> {
  const eos = new Set(model.tokenizer.eosIds);
  const ref = o.reference;
  const maxPositions = model.config.maxPositions;
  const logProbs: Float64Array[] = [];
  const answers: string[] = [];
  const generated: number[] = [];
  let kl = 0;
  let agree = 0;
  let firstMismatch = -1;
  const promptTokens = session.promptTokens;
  try {
    const bytes = {
      used: session.usedBytes(),
      allocated: session.allocatedBytes(),
      full: model.fullCacheBytes(promptTokens, session.cache.dtype),
    };
    let logits: Float32Array | null = session.logits;
    let unfed: number[] = [];
    for (let turn = 0; turn <= (o.followUps?.length ?? 0); turn++) {
      if (turn > 0) {
        // The last answer's final token has not been fed yet; then the next question.
        const feed = [...unfed, ...o.followUps![turn - 1]!];
        if (session.position + feed.length >= maxPositions) {
          throw new OptionError(
            `follow-up question ${turn} would reach position ${session.position + feed.length}, past the model's ${maxPositions}; use shorter lengths or fewer new tokens`,
          );
        }
        // Only the last fed token's logits are read.
        for (const [i, t] of feed.entries()) {
          const r = await session.step(t, { readout: i === feed.length - 1 ? 'logits' : 'none' });
          if (r.logits) logits = r.logits;
        }
      }
      const first = turn === 0;
      // Same context as the reference (or this is the reference): read the full distribution.
      const shared = (n: number) => ref === undefined || (firstMismatch < 0 && n < ref.logProbs.length);
      const out: number[] = [];
      let prediction = '';
      let token = 0;
      for (;;) {
        if (logits !== null) {
          token = argmax(logits);
          if (first) {
            const lp = logSoftmax(logits, `step ${out.length}`);
            logProbs.push(lp);
            if (ref) {
              kl += klFromLogProbs(ref.logProbs[out.length]!, lp);
              if (token === ref.tokens[out.length]) agree++;
              else firstMismatch = out.length;
            }
          }
        }
        out.push(token);
        if (eos.has(token)) break;
        prediction = model.tokenizer.decode(out);
        const cut = Math.min(...o.stop.map((s) => prediction.indexOf(s)).filter((i) => i >= 0));
        if (Number.isFinite(cut)) {
          prediction = prediction.slice(0, cut);
          break;
        }
        if (out.length >= o.maxNewTokens || session.position + 1 >= maxPositions) break;
        if (first && shared(out.length)) logits = (await session.step(token)).logits!;
        else {
          logits = null;
          token = (await session.step(token, { readout: 'argmax' })).token!;
        }
      }
      unfed = [token];
      logits = null;
      generated.push(...out);
      answers.push(prediction.trim());
    }
    const steps = logProbs.length;
    return {
      prediction: answers[0]!,
      answers,
      tokens: generated,
      logProbs,
      bytes,
      ...(ref ? { fidelity: { steps, top1: agree / steps, kl: kl / steps, firstMismatch } } : {}),
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    session.dispose();
  }
}
