import {
  type CompressionMethod,
  IndexError,
  type KVCache,
  type MethodRun,
  OptionError,
  type Tensor,
} from '@kvsieve/core';
import { argmaxToken, decodeForward, type ModelParts, readLogits, topCandidates } from './parts.js';
import type { LayerStats } from './prefill.js';

/**
 * What a decode step reads back: the next-token logits, the greedy token (picked on the device),
 * the `k` most likely tokens and their logits (picked on the device), or nothing.
 */
export type Readout = 'logits' | 'argmax' | 'top' | 'none';
/** Every {@link Readout}, as {@link DecodeSession.step} accepts them. */
export const READOUTS: readonly Readout[] = ['logits', 'argmax', 'top', 'none'];

/** Options of {@link DecodeSession.step}. */
export interface StepOptions {
  /** Default 'logits'. 'argmax' reads back one integer, 'top' 2·k numbers; 'none' only feeds the token. */
  readonly readout?: Readout;
  /** With readout 'top': how many candidates (a positive integer). */
  readonly k?: number;
}

/** What {@link DecodeSession.step} returns; which fields are set follows the readout. */
export interface StepResult {
  /** The position the fed token took. */
  readonly position: number;
  /** With readout 'logits': the next-token logits. */
  readonly logits?: Float32Array;
  /** With readout 'argmax': the greedy next token (ties to the lower id, as llama.cpp). */
  readonly token?: number;
  /** With readout 'top': the k most likely next tokens, most likely first (ties: lower id), and their logits. */
  readonly top?: {
    /** Token ids. */
    readonly ids: Int32Array;
    /** Their logits. */
    readonly logits: Float32Array;
  };
}

/** What a session was started from, and what its prefill did. */
export interface SessionInit {
  readonly parts: ModelParts;
  readonly cache: KVCache;
  readonly method: CompressionMethod | null;
  readonly run: MethodRun | null;
  readonly promptTokens: number;
  readonly layers: readonly LayerStats[];
  readonly logits: Float32Array;
  readonly prefillSeconds: number;
}

/**
 * One prompt's decoding state: it owns the KV cache and the method's run. Every `step` feeds one
 * token at the next position and applies the method's contract there: the decode capacity it
 * reserved is kept, its `afterDecodeStep` hook sees the step (with the attention mass when it
 * observes `decodeAttention`) and its decisions compact the cache in place. It is the only way to
 * decode, so no caller can skip a method's decode rules. `dispose()` frees the cache and ends the run.
 */
export class DecodeSession {
  /**
   * The method the session runs (wrapped in the decode budget when one was given), or null for a full cache.
   */
  readonly method: CompressionMethod | null;
  /** The method's run (for reports such as StructKV's pivot); the session calls its hooks. */
  readonly run: MethodRun | null;
  /** Tokens of the prompt that was prefilled. */
  readonly promptTokens: number;
  /** What prefill did to each layer. */
  readonly layers: readonly LayerStats[];
  /**
   * Wall-clock seconds of the prefill, compression included (a shared prefill's time split evenly among its
   * sessions).
   */
  readonly prefillSeconds: number;
  private readonly parts: ModelParts;
  private readonly kv: KVCache;
  private lastLogits: Float32Array;
  private next: number;
  private steps = 0;
  private disposed = false;
  /** A step failed half-way (the token may be in some layers' caches): the session cannot go on. */
  private failed = false;

  constructor(init: SessionInit) {
    this.parts = init.parts;
    this.kv = init.cache;
    this.method = init.method;
    this.run = init.run;
    this.promptTokens = init.promptTokens;
    this.layers = init.layers;
    this.lastLogits = init.logits;
    this.prefillSeconds = init.prefillSeconds;
    this.next = init.promptTokens;
    const capacity = init.run?.observe.decodeCapacity;
    if (capacity !== undefined) {
      if (!Number.isInteger(capacity) || capacity < 1) {
        throw new OptionError(
          `start: method ${init.method?.name} asked for decodeCapacity ${capacity}; it must be a positive integer`,
        );
      }
      // Reserved once: decode-time compactions then move rows in place, so the allocation stays flat.
      for (const layer of this.kv.layers) layer.reserveCapacity(capacity);
    }
  }

  /** The position the next fed token takes. */
  get position(): number {
    return this.next;
  }

  /** The latest logits read: after the prompt, then after each step read with readout 'logits'. */
  get logits(): Float32Array {
    return this.lastLogits;
  }

  /** The cache, for reading (kept positions, bytes); the session owns and changes it. */
  get cache(): KVCache {
    this.assertLive();
    return this.kv;
  }

  /** Bytes of the entries held (keys, values, positions). */
  usedBytes(): number {
    return this.kv.usedBytes();
  }

  /** Bytes allocated, rows reserved for growth included. */
  allocatedBytes(): number {
    return this.kv.bytes();
  }

  /** Feed `token` at the next position; read back what `readout` asks; apply the method's decode rules. */
  async step(token: number, opts: StepOptions = {}): Promise<StepResult> {
    this.assertLive();
    const readout = opts.readout ?? 'logits';
    if (!READOUTS.includes(readout)) {
      throw new OptionError(
        `step: readout must be one of ${READOUTS.join(', ')}, got ${JSON.stringify(readout)}`,
      );
    }
    const k = opts.k;
    if (readout === 'top' && (k === undefined || !Number.isInteger(k) || k < 1)) {
      throw new OptionError(`step: readout 'top' needs k, a positive integer; got ${k}`);
    }
    const m = this.parts;
    const run = this.run;
    const position = this.next;
    const withAttention = Boolean(run?.afterDecodeStep && run.observe.decodeAttention);
    let forward: ReturnType<typeof decodeForward>;
    try {
      forward = decodeForward(m, this.kv, token, position, withAttention);
    } catch (e) {
      // Bad input is refused before anything is appended; anything else may leave a layer ahead.
      if (!(e instanceof OptionError || e instanceof IndexError)) this.failed = true;
      throw e;
    }
    const { x, attention } = forward;
    let result: StepResult;
    try {
      if (readout === 'logits') {
        this.lastLogits = await readLogits(m, x, 0, position);
        result = { position, logits: this.lastLogits };
      } else if (readout === 'argmax') {
        result = { position, token: await argmaxToken(m, x, 0) };
      } else if (readout === 'top') {
        result = { position, top: await topCandidates(m, x, 0, k!, position) };
      } else {
        result = { position };
      }
      this.next++;
      this.steps++;
      if (run?.afterDecodeStep) await this.afterStep(run, position, attention);
    } catch (e) {
      this.failed = true;
      throw e;
    } finally {
      x.dispose();
      for (const t of attention) t.dispose();
    }
    return result;
  }

  private async afterStep(run: MethodRun, position: number, attention: Tensor[]): Promise<void> {
    const decision = await run.afterDecodeStep!({
      step: this.steps,
      position,
      backend: this.parts.backend,
      lengths: this.kv.lengths(),
      offsets: this.kv.rowOffsets(),
      ...(attention.length > 0 ? { attention } : {}),
    });
    // In place, within the rows already held: the cache's allocation stays flat.
    decision?.forEach((sel, l) => {
      if (sel) this.kv.layer(l).compact(sel, { keepCapacity: true });
    });
  }

  /** Free the cache and end the method's run. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.kv.dispose();
    this.run?.dispose?.();
  }

  private assertLive(): void {
    if (this.disposed)
      throw new OptionError('this decode session was disposed; start another with model.start()');
    if (this.failed) {
      throw new OptionError(
        'a step of this decode session failed, so its cache is incomplete; dispose it and start another',
      );
    }
  }
}
