/**
 * Every error kvsieve raises on bad input is a {@link KvsieveError}: callers can catch the family,
 * or a subclass for one kind of mistake. Messages name the offending tensor or option, what was
 * expected and what was received, so the fix is visible without a debugger.
 */
export class KvsieveError extends Error {
  override name = 'KvsieveError';
}

/** A tensor's shape (or rank) is not what an operation requires. */
export class ShapeError extends KvsieveError {
  override name = 'ShapeError';
}

/** A tensor's dtype is not one an operation accepts. */
export class DTypeError extends KvsieveError {
  override name = 'DTypeError';
}

/** An index is out of range, negative, duplicated or unsorted where order matters. */
export class IndexError extends KvsieveError {
  override name = 'IndexError';
}

/** An option (budget, window, kernel, ...) is outside its allowed range. */
export class OptionError extends KvsieveError {
  override name = 'OptionError';
}

/** A tensor was used after it was disposed, or on a backend that does not own it. */
export class TensorStateError extends KvsieveError {
  override name = 'TensorStateError';
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
