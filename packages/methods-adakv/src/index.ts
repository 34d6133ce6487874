export * from './adakv.js';
export * from './head-budgets.js';
