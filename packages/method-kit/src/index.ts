export * from './define.js';
export * from './schema.js';
