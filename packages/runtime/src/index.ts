export { seededRandom } from '@kvsieve/core';
export { ModelConfigError, ModelFileError, NumericalError, SharedPrefillError } from './errors.js';
export {
  type GeneratedToken,
  type GenerateOptions,
  type GenerationSummary,
  generate,
  type StepStats,
  type StopReason,
} from './generate/generate.js';
export { argmax, createSampler, type SamplingOptions } from './generate/sampler.js';
export { StopStringFilter } from './generate/stops.js';
export { type ByteFile, BytesFile } from './io/file.js';
export { GgufFile, type GgufTensorInfo, type GgufValue } from './io/gguf.js';
export { byteLevelTokenizerJson, type RandomModelOptions, writeRandomModel } from './io/random-model.js';
export { encodeSafetensorsHeader, SafetensorsSource, type WeightSource } from './io/safetensors.js';
export { type LoadOptions, type LoadProgress, loadModel, type ModelFiles } from './load.js';
export {
  ARCHITECTURES,
  type Architecture,
  type ModelConfig,
  type RopeScaling,
  ropeInvFreq,
} from './model/config.js';
export { Model, type SharedStart, type StartOptions, type StartSharedOptions } from './model/model.js';
export type { LayerStats } from './model/prefill.js';
export {
  DecodeSession,
  READOUTS,
  type Readout,
  type StepOptions,
  type StepResult,
} from './model/session.js';
export { BpeTokenizer, type BpeVocab, SUPPORTED_PRE } from './tokenizer/bpe.js';
export {
  applyChatTemplate,
  CHATML_TEMPLATE,
  type ChatMessage,
  type ChatOptions,
  type ChatRendering,
  ChatTemplateError,
  LLAMA3_TEMPLATE,
  renderChat,
} from './tokenizer/chat.js';
export {
  type GgufMetadataSource,
  SUPPORTED_TOKENIZER_MODELS,
  tokenizerFromGguf,
} from './tokenizer/gguf-vocab.js';
export { HfTokenizer, type HfTokenizerSources } from './tokenizer/hf.js';
export { SpmTokenizer } from './tokenizer/spm.js';
export type { TextTokenizer } from './tokenizer/tokenizer.js';
