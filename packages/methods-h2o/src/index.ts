export * from './h2o.js';
export * from './h2o-decode.js';
