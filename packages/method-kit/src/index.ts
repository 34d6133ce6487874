export * from './composable.js';
export * from './decode-budget.js';
export * from './options.js';
