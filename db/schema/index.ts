export * from './org.js';
export * from './people.js';
export * from './messaging.js';
export * from './cases.js';
export * from './audience.js';
export * from './notices.js';
export * from './limits.js';
export * from './timers.js';
