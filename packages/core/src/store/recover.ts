/**
 * store/recover.ts — the spool check at start-up.
 *
 * Temp files are bodies that were never acknowledged: removed. A message
 * whose single file and a .h/.b pair both exist was being shared
 * (Spool.shareBody) when the process stopped: the single file is whole and
 * stays, the pair (whole or not) is removed. Committed bodies no pending
 * message refers to are leftovers of a crash between the spool rename and
 * the database commit (never acknowledged), or of one after the last delivery
 * (no longer needed): removed, in either form. A pending message whose body is
 * missing, incomplete (a .h without its .b or the reverse), or whose size
 * differs from what was committed (truncated, damaged), is reported and what
 * is left of it moved aside to spool/corrupt/: never delivered half. The
 * delivery scheduler then finds no body, bounces the recipients and tells the
 * sender (DSN), as for a body lost at any other time. Last, canonical bodies
 * no message links to any more are removed, and so are bodies stored in the
 * database for messages no longer pending (a removal lost in a crash). Leases of deliveries cut short are
 * released so they are retried at once (at-least-once delivery).
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
  const moved = spool.relocateMisplaced();
  if (moved) log.info({ count: moved }, 'moved spool files into the directories this version uses');
  const temps = spool.sweepTemp();
  if (temps.length) log.info({ count: temps.length }, 'removed unacknowledged temp spool files');
  const committed = spool.listEntries();
  for (const [id, e] of committed) {
    if (e.single && (e.head || e.body) && (await spool.discardPartialShare(id))) {
      log.info({ queue_id: id }, 'removed the parts of a body share cut short; the whole spool file stays');
    }
  }
  const pending = new Set(await store.pendingIds());
  for (const id of committed.keys()) {
    if (!pending.has(id)) {
      await spool.remove(id);
      log.info({ queue_id: id }, 'removed spool file no pending message refers to');
    }
  }
  for (const id of pending) await checkPending(store, spool, log, id);
  const inline = spool.sweepInline();
  if (inline) log.info({ count: inline }, 'removed stored bodies of messages no longer pending');
  const bodies = await spool.sweepBodies();
  if (bodies) log.info({ count: bodies }, 'removed shared bodies no message refers to');
}

/** Reports a pending message whose body is missing or damaged, and moves what is left aside. */
async function checkPending(store: QueueStore, spool: Spool, log: Logger, id: string): Promise<void> {
  const size = await spool.size(id);
  const expected = (await store.get(id))?.message_size;
  if (size === undefined) {
    const e = await spool.entry(id);
    if (!e.head && !e.body) {
      log.error({ queue_id: id }, 'message body missing from the spool; its recipients will be bounced');
      return;
    }
    const aside = await spool.moveAside(id);
    log.error(
      { queue_id: id, header_part: e.head, body_part: e.body, moved_to: aside },
      'incomplete shared spool entry moved aside; its recipients will be bounced, nothing is delivered from it',
    );
  } else if (size !== expected) {
    const aside = await spool.moveAside(id);
    log.error(
      { queue_id: id, size, expected, moved_to: aside },
      'damaged spool entry moved aside; its recipients will be bounced, nothing is delivered from it',
    );
  }
}
