/**
 * paths.ts — where smarthold's own packages live (plugins installed next to
 * the CLI resolve from there as well as from the config directory).
 */
import { createRequire } from 'node:module';
import path from 'node:path';

export function coreDir(): string {
  const req = createRequire(import.meta.url);
  return path.dirname(req.resolve('@smarthold/core/package.json'));
}
