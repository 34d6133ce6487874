// Node-only helpers, kept out of the main entry so that browser bundles need no Node built-ins.
export {
  DAWN_LIMIT_WARNING,
  DawnWarningFilter,
  FILTERED_STDERR_ENV,
  type RelaunchOptions,
  relaunchWithoutDawnWarnings,
  stderrIsInteractive,
} from './node/dawn-warnings.js';
