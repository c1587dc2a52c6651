/**
 * jobs.ts — the quarantine's periodic work.
 *
 * expire: held mail older than max_age, then the oldest held mail while the
 * quarantine is over max_size; expired tokens; records of finished holds;
 * sender history past sender_history; sender and recipient records idle for
 * idle_records (their links die with them); a log line naming heavy spam
 * senders. reminders: recipient letters that came due (mail held since the
 * last letter, interval passed). learn: learning requests waiting for the
 * scanners. Each job is idempotent and bounded per run.
 */
import type { Logger } from 'pino';
import { DAY } from './config.js';
import type { QuarantineService } from './service.js';

const BATCH = 500;
/** Senders with at least this many spammy messages in the kept history are reported. */
const HEAVY_SENDER = 100;

/** What one expiry run did. */
export interface ExpiryReport {
  byAge: number;
  bySize: number;
  tokens: number;
  records: number;
  events: number;
  forgotten: number;
}

/** Runs the expiry once. */
export async function runExpiry(service: QuarantineService, now: number, log: Logger): Promise<ExpiryReport> {
  const cfg = service.config.expire;
  const report: ExpiryReport = { byAge: 0, bySize: 0, tokens: 0, records: 0, events: 0, forgotten: 0 };
  for (;;) {
    const old = await service.records.heldOlderThan(now - cfg.max_age * DAY, BATCH);
    for (const h of old) if (await service.expire(h.queue_id)) report.byAge++;
    if (old.length < BATCH) break;
  }
  if (cfg.max_size > 0) {
    let total = await service.records.heldBytes();
    while (total > cfg.max_size) {
      const oldest = await service.records.heldOlderThan(Number.MAX_SAFE_INTEGER, 50);
      if (!oldest.length) break;
      for (const h of oldest) {
        if (total <= cfg.max_size) break;
        if (await service.expire(h.queue_id)) report.bySize++;
        total -= h.size;
      }
    }
  }
  report.tokens = await service.tokens.expire();
  report.records = await service.records.purgeFinished(now - cfg.max_age * DAY);
  report.events = await service.records.trimEvents(now - cfg.sender_history * DAY);
  const idle = await service.records.forgetIdle(now - cfg.idle_records * DAY);
  for (const a of idle.senders) await service.tokens.revoke('sender', a);
  for (const a of idle.recipients) await service.tokens.revoke('recipient', a);
  report.forgotten = idle.senders.length + idle.recipients.length;
  const heavy = await service.records.heavySenders(HEAVY_SENDER);
  if (heavy.length) {
    log.warn({ senders: heavy, days: cfg.sender_history }, 'heavy spam senders in the kept history');
  }
  if (Object.values(report).some((n) => n > 0)) log.info({ ...report }, 'quarantine expiry');
  return report;
}

/** Sends the recipient letters that came due. Returns how many. */
export async function runReminders(service: QuarantineService, now: number): Promise<number> {
  const interval = service.config.notice.recipient_interval * DAY;
  let sent = 0;
  for (const address of await service.records.recipientsDue(now, interval, BATCH)) {
    if (await service.letterIfDue(address)) sent++;
  }
  return sent;
}
