export * from './h2o.js';
