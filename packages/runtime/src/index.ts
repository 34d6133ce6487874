export { ModelConfigError, ModelFileError } from './errors.js';
export { loadModel, type LoadOptions } from './load.js';
export { Model, type LayerStats, type PrefillOptions, type PrefillResult } from './model/model.js';
export { ARCHITECTURES, type Architecture, type ModelConfig, type RopeScaling, ropeInvFreq } from './model/config.js';
export { GgufFile, type GgufTensorInfo, type GgufValue } from './io/gguf.js';
export { SafetensorsSource, type WeightSource, encodeSafetensorsHeader } from './io/safetensors.js';
export type { TextTokenizer } from './tokenizer/tokenizer.js';
export { SpmTokenizer } from './tokenizer/spm.js';
export { HfTokenizer } from './tokenizer/hf.js';
export {
  generate,
  type GenerateOptions,
  type GeneratedToken,
  type GenerationSummary,
  type StepStats,
  type StopReason,
} from './generate/generate.js';
export { argmax, createSampler, seededRandom, type SamplingOptions } from './generate/sampler.js';
export { StopStringFilter } from './generate/stops.js';
export { applyChatTemplate, type ChatMessage } from './tokenizer/chat.js';
