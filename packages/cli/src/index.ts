export {
  type Command,
  type CommonArgs,
  INSPECT_USAGE,
  parseBudget,
  parseCommand,
  RUN_USAGE,
  type RunArgs,
  USAGE,
} from './args.js';
export { CALIBRATE_USAGE } from './commands/calibrate.js';
export { EVAL_USAGE, evalCommand } from './commands/eval.js';
export { type InspectLayer, inspectCommand } from './commands/inspect.js';
export { METHODS_USAGE, methodsCommand } from './commands/methods.js';
export { runCommand } from './commands/run.js';
export type { CliIO } from './io.js';
export { main } from './main.js';
export {
  type MethodFactory,
  MissingPackageError,
  type ModuleImporter,
  resolveBackend,
  resolveMethod,
  resolveMethodFactory,
} from './resolve.js';
