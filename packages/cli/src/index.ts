/**
 * index.ts — programmatic access to the CLI's helpers (used by tests and docs tooling).
 */
export { defaultConfigText } from './commands/init.js';
export { postqueueJson } from './commands/queue.js';
export {
  scaffoldPlugin,
  pluginName,
  ownCheckout,
  isCheckout,
  UsageError,
  PUBLISHED,
  type ScaffoldOptions,
  type ScaffoldResult,
} from './scaffold/scaffold.js';
export { pluginEntries, configReference, type PluginListEntry } from './commands/plugin.js';
