/**
 * store/plugin-queue.ts — the queue as plugins see it (ctx.queue).
 *
 * A narrow door onto the store and spool: read a message, release or discard
 * its held recipients. Releasing only ever moves recipients out of `hold`, so
 * it is idempotent (a second release moves nothing); discarding removes the
 * body once no recipient waits for it. It does not deliver: releasing kicks
 * the scheduler, which delivers as for any mail.
 */
import type { Readable } from 'node:stream';
import type { PluginQueue, QueuedMessage } from '../plugin/api.js';
import type { Clock } from '../util/clock.js';
import type { Spool } from './spool.js';
import type { QueueStore } from './types.js';

/** What {@link createPluginQueue} works on. */
export interface PluginQueueDeps {
  readonly store: QueueStore;
  readonly spool: Spool;
  readonly clock: Clock;
  /** Tells delivery that recipients became due. */
  readonly kick: () => void;
}

/** Builds the ctx.queue object shared by every plugin. */
export function createPluginQueue(deps: PluginQueueDeps): PluginQueue {
  const { store, spool, clock } = deps;
  return {
    async get(queueId): Promise<QueuedMessage | undefined> {
      const m = await store.get(queueId);
      if (!m) return undefined;
      return {
        queueId: m.queue_id,
        sender: m.sender,
        size: m.message_size,
        arrivalTime: m.arrival_time,
        recipients: m.recipients.map((r) => ({
          address: r.address,
          state: r.state,
          reason: r.delay_reason || r.dsn,
        })),
      };
    },
    open(queueId): Readable {
      return spool.open(queueId);
    },
    async release(queueId, recipients) {
      const moved = await store.move(queueId, ['hold'], 'active', clock.now(), recipients);
      if (moved) deps.kick();
      return moved;
    },
    async discard(queueId, recipients) {
      const moved = await store.move(queueId, ['hold'], 'discarded', clock.now(), recipients);
      if (moved && (await store.isFinished(queueId))) await spool.remove(queueId);
      return moved;
    },
  };
}
