import { createHash } from 'node:crypto';
import { seededRandom } from '@kvsieve/runtime';

/** A seeded stream of uniform numbers in [0, 1) with the draws tasks need. */
export class Rng {
  private readonly next: () => number;
  private readonly parts: readonly (string | number | null)[];

  /** Seeded from the run's seed and a sample's coordinates, so a sample never depends on run order. */
  constructor(...parts: readonly (string | number | null)[]) {
    this.parts = parts;
    const digest = createHash('sha256').update(JSON.stringify(parts)).digest();
    this.next = seededRandom(digest.readUInt32LE(0));
  }

  /** A new stream that depends only on this one's seed and `extra` (not on what was drawn). */
  fork(...extra: readonly (string | number)[]): Rng {
    return new Rng(...this.parts, ...extra);
  }

  /** The next uniform number in [0, 1). */
  random(): number {
    return this.next();
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** A uniformly drawn element of `xs`, which must not be empty. */
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }

  /** Shuffle `xs` in place (Fisher–Yates) and return it. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }

  /** `n` distinct values from `make` (throws after many repeats, so a tiny pool cannot loop forever). */
  distinct<T>(n: number, make: () => T, what: string): T[] {
    const seen = new Set<T>();
    for (let tries = 0; seen.size < n; tries++) {
      if (tries > 100 * n + 1000) {
        throw new Error(`could not draw ${n} distinct ${what}; the pool is too small`);
      }
      seen.add(make());
    }
    return [...seen];
  }
}
