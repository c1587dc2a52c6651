/**
 * delivery/scheduler.ts — the delivery workers.
 *
 * Claims due recipients from the store (a lease, so a crash mid-delivery is
 * retried after the lease runs out), hands each message to the transport,
 * and records per recipient: delivered, deferred (with the next attempt from
 * the retry policy) or bounced. New mail starts at once (kick); otherwise the
 * queue is polled. Ingress never calls it except to kick.
 */
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { PluginHost } from '../plugin/host.js';
import type { Spool } from '../store/spool.js';
import type { Claim, QueueStore, RecipientUpdate } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import { expired, retryDelay, type RetryPolicy } from './retry.js';
import type { Transport } from './transport.js';

export interface SchedulerOptions {
  readonly concurrency: number;
  readonly pollMs: number;
  readonly leaseMs: number;
  readonly retry: RetryPolicy;
}

export class DeliveryScheduler {
  private inFlight = 0;
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private kicked = false;
  private stopped = true;
  private ticking = false;
  private again = false;

  constructor(
    private readonly store: QueueStore,
    private readonly spool: Spool,
    private readonly transport: Transport,
    private readonly host: PluginHost | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: Metrics | undefined,
    private readonly opts: SchedulerOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => {
      this.kick();
    }, this.opts.pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Looks for due mail soon (coalesced). */
  kick(): void {
    if (this.stopped || this.kicked) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      void this.tick();
    });
  }

  private async tick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    try {
      do {
        this.again = false;
        const free = this.opts.concurrency - this.inFlight;
        if (free <= 0 || this.stopped) break;
        const claims = await this.store.claim(this.clock.now(), free, this.opts.leaseMs);
        for (const c of claims) this.launch(c);
        if (claims.length === free) this.again = true;
        // stop() may have run during the await above; TypeScript's narrowing cannot see that.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
      } while (this.again && !this.stopped && this.inFlight < this.opts.concurrency);
    } catch (err) {
      this.log.error({ err }, 'could not claim mail from the queue');
    } finally {
      this.ticking = false;
    }
  }

  private launch(claim: Claim): void {
    this.inFlight++;
    const p = this.deliver(claim)
      .catch((err: unknown) => {
        this.log.error({ err, queue_id: claim.queueId }, 'delivery failed unexpectedly; the lease will retry it');
      })
      .finally(() => {
        this.inFlight--;
        this.running.delete(p);
        this.kick();
      });
    this.running.add(p);
  }

  private async deliver(claim: Claim): Promise<void> {
    const now0 = this.clock.now();
    if ((await this.spool.size(claim.queueId)) === undefined) {
      this.log.error({ queue_id: claim.queueId }, 'spool file missing; recipients bounced');
      await this.store.fail(claim.queueId, 'message body missing from the spool', now0);
      return;
    }
    const results = await this.transport.deliver({
      queueId: claim.queueId,
      from: claim.sender,
      to: claim.recipients.map((r) => r.address),
      size: claim.size,
      openBody: () => this.spool.open(claim.queueId),
    });
    const now = this.clock.now();
    const updates: RecipientUpdate[] = [];
    for (const r of claim.recipients) {
      const res = results.find((x) => x.recipient === r.address);
      const attempts = r.attempts + 1;
      let state: RecipientUpdate['state'];
      let reason = res?.reply ?? 'no result from transport';
      if (res?.ok) state = 'delivered';
      else if (res?.temporary === false) state = 'bounced';
      else if (expired(this.opts.retry, claim.arrivalTime, now)) {
        state = 'bounced';
        reason = `message expired after ${Math.round((now - claim.arrivalTime) / 1000)} s in the queue; last reply: ${reason}`;
      } else state = 'deferred';
      const nextAttemptAt = state === 'deferred' ? now + retryDelay(this.opts.retry, attempts) : now;
      updates.push({ id: r.id, state, attempts, nextAttemptAt, delayReason: state === 'delivered' ? '' : reason, relay: res?.relay ?? '', dsn: res?.dsn ?? '' });
      this.metrics?.deliveries.inc({ status: state });
      this.log.info(
        {
          queue_id: claim.queueId,
          from: claim.sender,
          to: r.address,
          relay: res?.relay ?? 'none',
          delay: Math.round((now - claim.arrivalTime) / 10) / 100,
          dsn: res?.dsn ?? '',
          status: state,
          reply: reason,
        },
        `${r.address}: ${state}`,
      );
    }
    await this.store.update(updates, now);
    if (await this.store.isFinished(claim.queueId)) await this.spool.remove(claim.queueId);
    if (this.host) {
      for (const u of updates) {
        const address = claim.recipients.find((r) => r.id === u.id)?.address ?? '';
        if (u.state !== 'delivered' && u.state !== 'deferred' && u.state !== 'bounced') continue;
        await this.host.delivery({
          queueId: claim.queueId,
          from: claim.sender,
          recipient: address,
          status: u.state,
          reply: u.delayReason || 'ok',
          relay: u.relay,
          attempts: u.attempts,
        });
      }
    }
  }

  /** Stops claiming; waits up to `graceMs` for deliveries in flight. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const all = Promise.allSettled([...this.running]);
    await Promise.race([all, new Promise((r) => setTimeout(r, graceMs).unref())]);
  }
}
