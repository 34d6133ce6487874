export * from './options.js';
export * from './composable.js';
