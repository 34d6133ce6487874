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
export {
  type AdapterInfo,
  BACKEND_NAMES,
  type BackendChoice,
  type BackendName,
  type ChooseOptions,
  type ChosenBackendName,
  chooseBackend,
  type GpuProbe,
  parseBackendName,
  parseThreads,
  probeGpu,
  resolveBackend,
  softwareAdapter,
} from './backend.js';
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
  resolveMethod,
  resolveMethodFactory,
} from './resolve.js';
