export * from './composable.js';
export * from './options.js';
