/**
 * commands/start.ts — `smarthold start`: run until SIGTERM/SIGINT; SIGHUP reloads.
 *
 * SIGTERM or SIGINT stops accepting, lets sessions and deliveries finish
 * within the grace period, and exits 0; a second signal exits at once.
 * SIGHUP re-reads the configuration and validates it (files, plugins, their
 * sections and their requires/provides graph) before touching anything: a bad
 * configuration is logged and the running instance keeps going. A good one
 * replaces the instance (stop with the grace period, start again); clients
 * that connect in that moment are refused and retry, as they do with any MTA
 * restart. Nothing queued is affected: the store is the same.
 */
import {
  createLogger,
  defaultConfigPath,
  loadConfig,
  loadPlugins,
  PluginHost,
  startSmarthold,
  type Logger,
  type Smarthold,
} from '@smarthold/core';

/** Validates a configuration file the way start-up would, without starting anything. */
async function validate(file: string | undefined, log: Logger): Promise<void> {
  const loaded = loadConfig(file);
  PluginHost.prepare(loaded.config, await loadPlugins(loaded), { log, sources: loaded.sources });
}

export async function start(opts: { config?: string; pretty?: boolean; grace?: string }): Promise<number> {
  const file = opts.config ?? defaultConfigPath();
  const { config } = loadConfig(file);
  const log = createLogger({ level: config.log.level, pretty: Boolean(opts.pretty) });
  if (!file) log.info('no smarthold.toml found: running on built-in defaults (smarthold init writes one)');
  let app: Smarthold = await startSmarthold({ configFile: file, log });
  const graceMs = Number(opts.grace ?? '10') * 1000;
  let busy: Promise<void> = Promise.resolve();

  const reload = async (): Promise<void> => {
    try {
      await validate(file, log);
    } catch (err) {
      log.error(
        { err: (err as Error).message },
        'SIGHUP: the new configuration is invalid; keeping the running one',
      );
      return;
    }
    log.info('SIGHUP: configuration valid; restarting with it');
    const previous = app.loaded;
    await app.stop(graceMs);
    try {
      app = await startSmarthold({ configFile: file, log });
      log.info({ files: app.loaded.files }, 'configuration reloaded');
    } catch (err) {
      // Valid on paper but failed to start (a port taken, say): run the previous configuration again.
      log.error({ err }, 'SIGHUP: the new configuration failed to start; starting the previous one again');
      app = await startSmarthold({
        configFile: undefined,
        config: previous.raw,
        baseDir: previous.baseDir,
        log,
      });
    }
  };

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
      busy
        .then(() => app.stop(graceMs))
        .then(
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
    process.on('SIGHUP', () => {
      if (stopping) return;
      busy = busy.then(reload).catch((err: unknown) => {
        log.error({ err }, 'SIGHUP: reload failed');
      });
    });
  });
}
