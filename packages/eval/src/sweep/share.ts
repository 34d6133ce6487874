import type { DecodeSession, Model } from '@kvsieve/runtime';
import type { Candidate } from './plan.js';

/** A session that has prefilled the prompt, and the prefill time charged to it. */
export interface Prefilled {
  readonly session: DecodeSession;
  /** Milliseconds of prefill charged to this run (its share of a shared prefill). */
  readonly ms: number;
}

/** The prefills of one prompt's pending runs. */
export interface SamplePrefills {
  readonly full: Prefilled;
  /** Hand a method's session over (once); undefined when the method needs its own prefill. */
  take(c: Candidate): Prefilled | undefined;
  /** Dispose the sessions not handed over. */
  dispose(): void;
}

/**
 * Prefill one prompt for the full cache and every pending method. With `share`, one forward pass
 * serves them all (`Model.startShared`), its time split evenly over the runs it served; a
 * method that propagates fewer tokens is skipped there and left to its own prefill (take gives
 * undefined). Without `share`, only the full cache is prefilled here, as before sharing existed.
 * Every cache is compacted as soon as its layer is done, so memory holds the full cache plus each
 * pending method's compacted cache until they are decoded.
 */
export async function prefillSample(
  model: Model,
  ids: readonly number[],
  pending: readonly Candidate[],
  share: boolean,
): Promise<SamplePrefills> {
  if (!share) {
    const session = await model.start(ids);
    const full = { session, ms: session.prefillSeconds * 1000 };
    return { full, take: () => undefined, dispose: () => session.dispose() };
  }
  const methods = pending.filter((c) => c.instance);
  const shared = await model.startShared(ids, [null, ...methods.map((c) => c.instance!)], {
    onPropagate: 'skip',
  });
  const left = new Map<Candidate, Prefilled>();
  methods.forEach((c, i) => {
    const session = shared.sessions[i + 1];
    if (session) left.set(c, { session, ms: session.prefillSeconds * 1000 });
  });
  const fullSession = shared.sessions[0]!;
  return {
    full: { session: fullSession, ms: fullSession.prefillSeconds * 1000 },
    take(c) {
      const p = left.get(c);
      left.delete(c);
      return p;
    },
    dispose() {
      fullSession.dispose();
      for (const p of left.values()) p.session.dispose();
      left.clear();
    },
  };
}
