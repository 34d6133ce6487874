export * from './chunkkv.js';
