export * from './compare.js';
export * from './main.js';
export * from './registry.js';
export * from './run.js';
export * from './vector-file.js';
