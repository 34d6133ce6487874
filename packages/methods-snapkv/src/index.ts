export * from './snapkv.js';
