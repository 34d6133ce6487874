export * from './pyramidkv.js';
