import { formatShape, ShapeError } from '../errors.js';

/** A tensor's dimensions, outermost first (row-major); `[]` is a scalar of one element. */
export type Shape = readonly number[];

/** Number of elements a tensor of `shape` holds: the product of its dimensions (1 for `[]`, 0 if any dimension is 0). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Throws a `ShapeError` naming `what` unless every dimension is a non-negative integer (0 is allowed: an empty tensor). */
export function assertValidShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(
        `${what}: shape ${formatShape(shape)} has a dimension that is not a non-negative integer`,
      );
    }
  }
}

/** Resolve a single -1 in `shape` against `size` elements (reshape semantics). */
export function resolveShape(shape: Shape, size: number, what: string): number[] {
  const out = [...shape];
  const free = out.indexOf(-1);
  if (free !== out.lastIndexOf(-1)) throw new ShapeError(`${what}: at most one -1 in ${formatShape(shape)}`);
  if (free >= 0) {
    const rest = sizeOf(out.filter((_, i) => i !== free));
    if (rest === 0 || size % rest !== 0) {
      throw new ShapeError(`${what}: cannot infer -1 in ${formatShape(shape)} for ${size} elements`);
    }
    out[free] = size / rest;
  }
  assertValidShape(out, what);
  if (sizeOf(out) !== size) {
    throw new ShapeError(
      `${what}: shape ${formatShape(out)} holds ${sizeOf(out)} elements, the tensor has ${size}`,
    );
  }
  return out;
}
