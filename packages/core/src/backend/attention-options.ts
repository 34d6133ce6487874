import { OptionError } from '../errors.js';
import type { AttentionOptions } from './backend.js';

/**
 * Attention options as every backend applies them: the scale (default 1/√d, for head dim `d`) and
 * the sliding window (0: none). Throws an `OptionError` naming `op` for a non-finite scale or a
 * window that is not a non-negative integer.
 */
export function attentionOptions(
  op: string,
  opts: AttentionOptions,
  d: number,
): {
  /** Multiplier of q·k: `opts.scale`, or 1/√d when absent. */
  scale: number;
  /** Sliding window in positions; 0 means none (plain causal attention). */
  window: number;
} {
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  if (!Number.isFinite(scale))
    throw new OptionError(`${op}: scale must be a finite number, got ${opts.scale}`);
  const window = opts.slidingWindow ?? 0;
  if (!Number.isInteger(window) || window < 0) {
    throw new OptionError(
      `${op}: slidingWindow must be a whole number of positions ≥ 1 (or 0 for none), got ${window}`,
    );
  }
  return { scale, window };
}

/** Whether a key at `keyPos` is visible to a query at `queryPos` (causal, within the sliding window). */
export function visible(keyPos: number, queryPos: number, window: number): boolean {
  return keyPos <= queryPos && (window === 0 || queryPos - keyPos < window);
}
