import { KvsieveError } from '@kvsieve/core';

/** A model file is missing, unreadable, truncated or malformed. The message names the file. */
export class ModelFileError extends KvsieveError {
  /** `'ModelFileError'`: the class's name, for messages and `err.name` checks. */
  override name = 'ModelFileError';
}

/**
 * A model's configuration cannot be served: an unknown architecture, an unsupported dtype or
 * quantization, or a tensor whose shape disagrees with the configuration.
 */
export class ModelConfigError extends KvsieveError {
  /** `'ModelConfigError'`: the class's name, for messages and `err.name` checks. */
  override name = 'ModelConfigError';
}

/**
 * A method cannot be served by a shared prefill: its decision propagates fewer tokens to deeper
 * layers, so those layers would compute something other than the shared pass. Run it with
 * `Model.prefill` alone.
 */
export class SharedPrefillError extends KvsieveError {
  /** `'SharedPrefillError'`: the class's name, for messages and `err.name` checks. */
  override name = 'SharedPrefillError';
}

/**
 * A computation turned non-finite (NaN or ±Inf logits): the model's weights or activations
 * overflowed, so every token from there on would be noise. The message names the position.
 */
export class NumericalError extends KvsieveError {
  /** `'NumericalError'`: the class's name, for messages and `err.name` checks. */
  override name = 'NumericalError';
}
