import { KvsieveError } from '@kvsieve/core';

/** A task data file (RULER-format JSONL) that cannot be read as it is. */
export class DatasetError extends KvsieveError {
  /** Always `'DatasetError'`. */
  override name = 'DatasetError';
}
