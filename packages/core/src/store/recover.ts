/**
 * store/recover.ts — the spool check at start-up.
 *
 * Temp files are bodies that were never acknowledged: removed. Committed
 * bodies no pending message refers to are leftovers of a crash between the
 * spool rename and the database commit (never acknowledged), or of one after
 * the last delivery (no longer needed): removed. A
 * pending message whose body is missing is reported and its recipients
 * bounced, never delivered half. Leases of deliveries cut short are released
 * so they are retried at once (at-least-once delivery).
 */
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import type { Spool } from './spool.js';
import type { QueueStore } from './types.js';

export async function recoverSpool(store: QueueStore, spool: Spool, clock: Clock, log: Logger): Promise<void> {
  const leases = await store.releaseLeases();
  if (leases) log.warn({ count: leases }, 'released delivery leases of a process that stopped mid-delivery; those recipients are retried now (a duplicate is possible, a loss is not)');
  const temps = spool.sweepTemp();
  if (temps.length) log.info({ count: temps.length }, 'removed unacknowledged temp spool files');
  const pending = new Set(await store.pendingIds());
  for (const id of spool.listCommitted()) {
    if (!pending.has(id)) {
      await spool.remove(id);
      log.info({ queue_id: id }, 'removed spool file no pending message refers to');
    }
  }
  for (const id of pending) {
    if ((await spool.size(id)) === undefined) {
      log.error({ queue_id: id }, 'message body missing from the spool; recipients bounced');
      await store.fail(id, 'message body missing from the spool', clock.now());
    }
  }
}
