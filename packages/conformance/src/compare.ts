/** Tolerances of a conformance run. */
export interface Tolerances {
  /** Relative tolerance for recorded scores (`pooledScores`). Default 1e-4, as the golden README. */
  readonly rtol: number;
  /** Absolute tolerance added to it, for scores near zero. Default 0. */
  readonly atol: number;
  /**
   * How close (relatively) a score must be to the boundary score to count as tied. Default 0: the
   * golden README's rule, exact equality. Raise it for backends whose scores differ in the last bits.
   */
  readonly tieRtol: number;
}

/** `rtol` 1e-4, `atol` 0, `tieRtol` 0: the golden README's rules; what unset options fall back to. */
export const DEFAULT_TOLERANCES: Tolerances = { rtol: 1e-4, atol: 0, tieRtol: 0 };

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(6) : String(x);
}

/**
 * Compares one head's kept set with the reference's. Positions scored exactly at the boundary (the
 * smallest score we kept) are interchangeable; `scores` are ours over the `prefix` scored positions
 * (`null` for a method without scores: then the sets must be equal). Returns problems, empty when
 * the head matches.
 */
export function compareKept(
  ours: Int32Array,
  reference: Int32Array,
  scores: Float32Array | null,
  prefix: number,
  tol: Pick<Tolerances, 'tieRtol'>,
): string[] {
  const mine = new Set(ours);
  const theirs = new Set(reference);
  const extra = [...mine].filter((p) => !theirs.has(p)).sort((a, b) => a - b);
  const missing = [...theirs].filter((p) => !mine.has(p)).sort((a, b) => a - b);
  if (extra.length === 0 && missing.length === 0) return [];
  const problems: string[] = [];
  if (ours.length !== reference.length)
    problems.push(`keeps ${ours.length} positions, the reference ${reference.length}`);
  const list = (xs: number[]) =>
    xs
      .slice(0, 6)
      .map((p) => (scores && p < prefix ? `${p} (score ${fmt(scores[p]!)})` : `${p}`))
      .join(', ') + (xs.length > 6 ? `, … ${xs.length} in all` : '');
  if (!scores) {
    problems.push(
      `kept but not in the reference: [${list(extra)}]; in the reference but not kept: [${list(missing)}]`,
    );
    return problems;
  }
  let boundary = Number.POSITIVE_INFINITY;
  for (const p of ours) if (p < prefix) boundary = Math.min(boundary, scores[p]!);
  const tied = (p: number) =>
    p < prefix &&
    Math.abs(scores[p]! - boundary) <= tol.tieRtol * Math.max(Math.abs(boundary), Math.abs(scores[p]!));
  const badExtra = extra.filter((p) => !tied(p));
  const badMissing = missing.filter((p) => !tied(p));
  if (badExtra.length > 0 || badMissing.length > 0) {
    problems.push(
      `boundary score ${fmt(boundary)}; kept but not in the reference: [${list(badExtra)}]; in the reference but not kept: [${list(badMissing)}]`,
    );
  }
  return problems;
}

/** Scores within `atol + rtol · |reference|`; returns a problem or null. */
export function compareScoreArrays(
  ours: Float32Array,
  reference: Float32Array,
  tol: Tolerances,
): string | null {
  if (ours.length !== reference.length) return `${ours.length} scores, the reference has ${reference.length}`;
  let worst = -1;
  let worstErr = 0;
  let bad = 0;
  for (let i = 0; i < ours.length; i++) {
    const err = Math.abs(ours[i]! - reference[i]!);
    const allowed = tol.atol + tol.rtol * Math.abs(reference[i]!);
    if (!(err <= allowed)) {
      bad++;
      if (worst < 0 || err > worstErr || Number.isNaN(err)) {
        worst = i;
        worstErr = err;
      }
    }
  }
  if (bad === 0) return null;
  return `${bad} of ${ours.length} scores outside rtol ${tol.rtol}${tol.atol ? ` + atol ${tol.atol}` : ''}; worst at flat index ${worst}: ${fmt(ours[worst]!)} vs reference ${fmt(reference[worst]!)}`;
}
