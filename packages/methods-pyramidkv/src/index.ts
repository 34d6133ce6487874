export * from './exact-schedule.js';
export * from './pyramidkv.js';
