/**
 * Every error kvsieve raises on bad input is a {@link KvsieveError}: callers can catch the family,
 * or a subclass for one kind of mistake. Messages name the offending tensor or option, what was
 * expected and what was received, so the fix is visible without a debugger.
 */
export class KvsieveError extends Error {
  /** `'KvsieveError'`; each subclass sets its own class name, so `err.name` tells the kind of mistake. */
  override name = 'KvsieveError';
}

/** A tensor's shape (or rank) is not what an operation requires. */
export class ShapeError extends KvsieveError {
  /** Always `'ShapeError'`. */
  override name = 'ShapeError';
}

/** A tensor's dtype is not one an operation accepts. */
export class DTypeError extends KvsieveError {
  /** Always `'DTypeError'`. */
  override name = 'DTypeError';
}

/** An index is out of range, negative, duplicated or unsorted where order matters. */
export class IndexError extends KvsieveError {
  /** Always `'IndexError'`. */
  override name = 'IndexError';
}

/** An option (budget, window, kernel, ...) is outside its allowed range. */
export class OptionError extends KvsieveError {
  /** Always `'OptionError'`. */
  override name = 'OptionError';
}

/** A tensor was used after it was disposed, or on a backend that does not own it. */
export class TensorStateError extends KvsieveError {
  /** Always `'TensorStateError'`. */
  override name = 'TensorStateError';
}

/** A shape as error messages print it: `[2, 8, 64]` (`[]` for a scalar). */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
