export * from './streamingllm.js';
