import { OptionError } from '@kvsieve/core';
import type { SegmentEncoder } from './encoder.js';
import type { Haystack } from './haystack.js';
import type { Rng } from './random.js';

/** A piece of text placed inside the haystack at a relative depth. */
export interface Insert {
  /** The text to place (a needle); encoded as following earlier text, and never cut. */
  readonly text: string;
  /** 0 = before the first haystack sentence, 100 = after the last. */
  readonly depth: number;
}

/** A prompt built by {@link fitHaystack}. */
export interface Fitted {
  /** Exactly the requested number of token ids: head, haystack with the inserts, tail. */
  readonly ids: number[];
  /** Token offset of each insert in `ids`, in the order given. */
  readonly offsets: number[];
}

/**
 * Ids of exactly `length` tokens: `head`, then haystack sentences with the inserts at the
 * sentence boundary nearest to their depth, then `tail`. The haystack is cut to the token to hit
 * the length (only its last sentence can be cut short); inserts are never cut.
 */
export function fitHaystack(o: {
  readonly enc: SegmentEncoder;
  readonly length: number;
  readonly head: readonly number[];
  readonly tail: readonly number[];
  readonly inserts: readonly Insert[];
  readonly haystack: Haystack;
  readonly rng: Rng;
  readonly task: string;
}): Fitted {
  const insertIds = o.inserts.map((ins) => o.enc.encode(ins.text));
  const fixed = o.head.length + o.tail.length + insertIds.reduce((a, ids) => a + ids.length, 0);
  const budget = o.length - fixed;
  if (budget < 0) {
    throw new OptionError(
      `${o.task}: a length of ${o.length} tokens is too short: the question, answer prefix and needles alone take ${fixed}; use a length above ${fixed}`,
    );
  }
  // Haystack tokens, with the token offset where each sentence starts.
  const hay: number[] = [];
  const boundaries: number[] = [0];
  const it = o.haystack.sentences(o.rng);
  while (hay.length < budget) {
    const ids = o.enc.encode(it.next().value as string);
    hay.push(...ids.slice(0, budget - hay.length));
    boundaries.push(hay.length);
  }
  const at = o.inserts.map((ins, i) => {
    if (!(ins.depth >= 0 && ins.depth <= 100)) {
      throw new OptionError(
        `${o.task}: depth ${ins.depth} is outside [0, 100]; give a percentage of the haystack`,
      );
    }
    const target = (ins.depth / 100) * budget;
    let best = 0;
    for (const b of boundaries) if (Math.abs(b - target) < Math.abs(best - target)) best = b;
    return { i, best };
  });
  at.sort((a, b) => a.best - b.best || a.i - b.i);
  const ids = [...o.head];
  const offsets = new Array<number>(o.inserts.length);
  let from = 0;
  for (const { i, best } of at) {
    ids.push(...hay.slice(from, best));
    from = best;
    offsets[i] = ids.length;
    ids.push(...insertIds[i]!);
  }
  ids.push(...hay.slice(from), ...o.tail);
  return { ids, offsets };
}
