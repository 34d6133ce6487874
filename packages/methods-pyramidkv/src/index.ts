export * from './allocator.js';
export * from './pyramidkv.js';
