export * from './vector-file.js';
export * from './compare.js';
export * from './registry.js';
export * from './run.js';
export * from './main.js';
