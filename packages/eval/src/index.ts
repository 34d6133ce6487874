export {
  type CacheSample,
  type DecodeBudgetCandidate,
  type DecodeBudgetOptions,
  type DecodeBudgetTrace,
  decodeBudgetTable,
  runDecodeBudget,
} from './decode-budget/decode-budget.js';
export {
  argmax,
  klDivergence,
  klFromLogProbs,
  type Logits,
  logSoftmax,
  softmax,
} from './fidelity/divergence.js';
export {
  type CacheSize,
  type CandidateFidelity,
  type FidelityCandidate,
  type FidelityOptions,
  type FidelityReference,
  type FidelityReport,
  runFidelity,
} from './fidelity/fidelity.js';
export { describeParams, type LabelledBudget, parseBudgets } from './fidelity/options.js';
export { FIDELITY_STORY } from './fidelity/story.js';
export { fidelityTable } from './fidelity/table.js';
