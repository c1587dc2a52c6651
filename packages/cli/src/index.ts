/**
 * index.ts — programmatic access to the CLI's helpers (used by tests and docs tooling).
 */
export { defaultConfigText } from './commands/init.js';
export { postqueueJson } from './commands/queue.js';
