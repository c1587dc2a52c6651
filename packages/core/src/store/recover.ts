/**
 * store/recover.ts — the spool check at start-up.
 *
 * Temp files are bodies that were never acknowledged: removed. Committed
 * bodies no pending message refers to are leftovers of a crash between the
 * spool rename and the database commit (never acknowledged), or of one after
 * the last delivery (no longer needed): removed. A
 * pending message whose body is missing, or whose size differs from what
 * was committed (truncated, damaged), is reported and its body moved aside
 * to spool/corrupt/: never delivered half. The delivery scheduler then finds
 * no body, bounces the recipients and tells the sender (DSN), as for a body
 * lost at any other time. Leases of deliveries cut short are released
 * so they are retried at once (at-least-once delivery).
 */
import type { Logger } from 'pino';
import type { Spool } from './spool.js';
import type { QueueStore } from './types.js';

export async function recoverSpool(store: QueueStore, spool: Spool, log: Logger): Promise<void> {
  const leases = await store.releaseLeases();
  if (leases)
    log.warn(
      { count: leases },
      'released delivery leases of a process that stopped mid-delivery; those recipients are retried now (a duplicate is possible, a loss is not)',
    );
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
    const size = await spool.size(id);
    const expected = (await store.get(id))?.message_size;
    if (size === undefined) {
      log.error({ queue_id: id }, 'message body missing from the spool; its recipients will be bounced');
    } else if (size !== expected) {
      const aside = await spool.moveAside(id);
      log.error(
        { queue_id: id, size, expected, moved_to: aside },
        'damaged spool entry moved aside; its recipients will be bounced, nothing is delivered from it',
      );
    }
  }
}
