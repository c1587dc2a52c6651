/**
 * store/retention.ts — forgetting finished messages.
 *
 * A message whose recipients are all delivered, bounced or discarded keeps
 * its records (envelope, results, trace, per-recipient outcome) for
 * `[store] keep_finished` after its last change, for `explain` and
 * `queue show`; then they are deleted. Without this the queue database would
 * grow by every message ever relayed. The work is cut into small
 * transactions with a turn of the event loop between them, so SMTP sessions
 * never wait long behind it. The same job gives free space back to the file
 * system (compact).
 */
import type { Logger } from 'pino';
import type { QueueStore } from './types.js';

/** How often the purge runs. */
export const PURGE_EVERY_MS = 10_000;
/** Messages looked at per transaction. */
const BATCH = 200;
/** Transactions per run at most (so a run looks at 10,000 messages at most). */
const MAX_BATCHES = 50;

/** Runs `step` up to `max` times while it says there is more, with a turn of the event loop between. */
async function inSteps(max: number, step: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < max && (await step()); i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Free database space kept for reuse; more is given back to the file system. */
const SLACK_BYTES = 8 * 1024 * 1024;
/** Space given back per transaction, and transactions per run at most. */
const COMPACT_BYTES = 1024 * 1024;
const COMPACT_STEPS = 16;

/**
 * Gives the space of deleted bodies and records back to the file system, a
 * little at a time, when more than SLACK_BYTES are free: bodies stored in the
 * database after a backlog (a next hop down for a day) would otherwise keep
 * the file at its largest. Returns the bytes given back.
 */
export async function compact(store: QueueStore): Promise<number> {
  let total = 0;
  await inSteps(COMPACT_STEPS, async () => {
    const n = await store.compact(SLACK_BYTES, COMPACT_BYTES);
    total += n;
    return n > 0;
  });
  return total;
}

/** One run: deletes what has been finished for longer than `keepMs`; returns how many. */
export async function purgeFinished(
  store: QueueStore,
  now: number,
  keepMs: number,
  log: Logger,
): Promise<number> {
  let total = 0;
  await inSteps(MAX_BATCHES, async () => {
    const r = await store.purgeFinished(now - keepMs, BATCH);
    total += r.deleted;
    return r.more;
  });
  if (total)
    log.info(
      { count: total },
      'removed the records of messages finished longer ago than [store] keep_finished',
    );
  return total;
}
