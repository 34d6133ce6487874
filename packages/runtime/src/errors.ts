import { KvsieveError } from '@kvsieve/core';

/** A model file is missing, unreadable, truncated or malformed. The message names the file. */
export class ModelFileError extends KvsieveError {
  override name = 'ModelFileError';
}

/**
 * A model's configuration cannot be served: an unknown architecture, an unsupported dtype or
 * quantization, or a tensor whose shape disagrees with the configuration.
 */
export class ModelConfigError extends KvsieveError {
  override name = 'ModelConfigError';
}
