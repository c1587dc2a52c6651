/**
 * commands/start.ts — `smarthold start`: run until SIGTERM/SIGINT.
 *
 * SIGTERM or SIGINT stops accepting, lets sessions and deliveries finish
 * within the grace period, and exits 0. A second signal exits at once.
 */
import { createLogger, defaultConfigPath, loadConfig, startSmarthold } from '@smarthold/core';

export async function start(opts: { config?: string; pretty?: boolean; grace?: string }): Promise<number> {
  const file = opts.config ?? defaultConfigPath();
  const { config } = loadConfig(file);
  const log = createLogger({ level: config.log.level, pretty: Boolean(opts.pretty) });
  if (!file) log.info('no smarthold.toml found: running on built-in defaults (smarthold init writes one)');
  const app = await startSmarthold({ configFile: file, log });
  const graceMs = Number(opts.grace ?? '10') * 1000;
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      log.info({ signal }, 'stopping');
      app.stop(graceMs).then(
        () => {
          resolve(0);
        },
        (err: unknown) => {
          log.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => {
      stop('SIGTERM');
    });
    process.on('SIGINT', () => {
      stop('SIGINT');
    });
  });
}
