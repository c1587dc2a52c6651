/**
 * store/retention.ts — forgetting finished messages.
 *
 * A message whose recipients are all delivered, bounced or discarded keeps
 * its records (envelope, results, trace, per-recipient outcome) for
 * `[store] keep_finished` after its last change, for `explain` and
 * `queue show`; then they are deleted. Without this the queue database would
 * grow by every message ever relayed. The work is cut into small
 * transactions with a turn of the event loop between them, so SMTP sessions
 * never wait long behind it.
 */
import type { Logger } from 'pino';
import type { QueueStore } from './types.js';

/** How often the purge runs. */
export const PURGE_EVERY_MS = 10_000;
/** Messages looked at per transaction. */
const BATCH = 200;
/** Transactions per run at most (so a run looks at 10,000 messages at most). */
const MAX_BATCHES = 50;

/** One run: deletes what has been finished for longer than `keepMs`; returns how many. */
export async function purgeFinished(
  store: QueueStore,
  now: number,
  keepMs: number,
  log: Logger,
): Promise<number> {
  let total = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const r = await store.purgeFinished(now - keepMs, BATCH);
    total += r.deleted;
    if (!r.more) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (total)
    log.info(
      { count: total },
      'removed the records of messages finished longer ago than [store] keep_finished',
    );
  return total;
}
