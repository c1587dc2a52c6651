/**
 * log.ts — the logger: pino JSON lines on stdout.
 *
 * Fields follow Postfix's names (queue_id, from, to, relay, delay, dsn,
 * status) so one grep follows a message's life. `pretty` uses pino-pretty
 * when it is installed (the CLI depends on it); the library does not.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Creates the root logger. */
export function createLogger(
  opts: { level?: string; pretty?: boolean; destination?: DestinationStream } = {},
): Logger {
  const base = {
    level: opts.level ?? 'info',
    base: { service: 'smarthold' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (opts.destination) return pino(base, opts.destination);
  if (opts.pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard' } },
    });
  }
  return pino(base);
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
