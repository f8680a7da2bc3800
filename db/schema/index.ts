export * from './org.js';
export * from './people.js';
export * from './messaging.js';
export * from './cases.js';
export * from './timers.js';
