/**
 * delivery/scheduler.ts — the delivery workers.
 *
 * Claims due recipients from the store (a lease, so a crash mid-delivery is
 * retried after the lease runs out), hands each message to the transport,
 * and records per recipient: delivered, deferred (with the next attempt from
 * the retry policy) or bounced. New mail is handed over at commit when a slot
 * is free (reserve/committed: leased in its own commit, body in memory);
 * otherwise it is claimed when kicked or when a slot frees up, and the queue
 * is polled for retries. Ingress never calls it (the committer does).
 * Recipients that fail for good are reported to the sender (one DSN per
 * message and attempt, queued before the failure is recorded and before the
 * body leaves the spool); delay warnings likewise, once per recipient
 * (delivery/dsn.ts).
 */
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { PluginHost } from '../plugin/host.js';
import type { CommitSink } from '../store/committer.js';
import { bodyStream, type Spool } from '../store/spool.js';
import type { Claim, QueueStore, RecipientUpdate } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import { DsnNotifier, type DsnNotifierOptions, type DsnRecipient } from './dsn.js';
import { expired, retryDelay, type RetryPolicy } from './retry.js';
import type { Transport } from './transport.js';

export interface SchedulerOptions {
  readonly concurrency: number;
  readonly pollMs: number;
  readonly leaseMs: number;
  readonly retry: RetryPolicy;
  /** Bounces and delay warnings to senders; without it, none are sent. */
  readonly dsn?: DsnNotifierOptions | undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The reason recorded when a claimed message's body is gone. */
const MISSING_BODY = 'message body missing from the spool';

export class DeliveryScheduler implements CommitSink {
  private inFlight = 0;
  /** Slots held for messages being committed (see reserve()). */
  private reserved = 0;
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private stopped = true;
  private ticking = false;
  /** There may be due mail that no delivery has claimed yet. */
  private wanted = false;
  private readonly dsn: DsnNotifier | undefined;

  constructor(
    private readonly store: QueueStore,
    private readonly spool: Spool,
    private readonly transport: Transport,
    private readonly host: PluginHost | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: Metrics | undefined,
    private readonly opts: SchedulerOptions,
  ) {
    this.dsn = opts.dsn ? new DsnNotifier(spool, clock, log, opts.dsn) : undefined;
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => {
      this.kick();
    }, this.opts.pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Says there may be due mail to claim: looks soon (coalesced), or when a slot frees up. */
  kick(): void {
    this.wanted = true;
    this.schedule();
  }

  private free(): number {
    return this.opts.concurrency - this.inFlight - this.reserved;
  }

  /**
   * Holds a delivery slot for a message being committed (CommitSink): the
   * message is then committed leased until the returned time and handed over
   * by committed(), with no claim query. Undefined when no slot is free (the
   * message is then claimed like any other).
   */
  reserve(): number | undefined {
    if (this.stopped || this.free() <= 0) return undefined;
    this.reserved++;
    return this.clock.now() + this.opts.leaseMs;
  }

  /** A message with active recipients was committed (CommitSink). */
  committed(claim: Claim | undefined, body: Buffer | undefined): void {
    if (!claim) {
      this.kick();
      return;
    }
    this.reserved--;
    if (this.stopped) {
      // Leased but not delivered: the next start releases the lease and delivers it.
      return;
    }
    this.launch(claim, body);
  }

  /** A reserved slot that no claim will use (CommitSink). */
  cancel(): void {
    this.reserved--;
  }

  private schedule(): void {
    if (this.stopped || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.tick();
    });
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      // A kick while a claim is awaited sets `wanted` again, and the loop goes on.
      while (this.wanted && !this.stopped) {
        const free = this.free();
        if (free <= 0) break; // `wanted` stays set: the next delivery to end looks again.
        this.wanted = false;
        const claims = await this.store.claim(this.clock.now(), free, this.opts.leaseMs);
        for (const c of claims) this.launch(c);
        if (claims.length === free) this.wanted = true;
      }
    } catch (err) {
      this.log.error({ err }, 'could not claim mail from the queue');
    } finally {
      this.ticking = false;
    }
  }

  private launch(claim: Claim, body?: Buffer): void {
    this.inFlight++;
    const p = this.deliver(claim, body)
      .catch((err: unknown) => {
        this.log.error(
          { err, queue_id: claim.queueId },
          'delivery failed unexpectedly; the lease will retry it',
        );
      })
      .finally(() => {
        this.inFlight--;
        this.running.delete(p);
        if (this.wanted) this.schedule();
      });
    this.running.add(p);
  }

  /** One attempt; `body` is the message when ingress handed it over in memory (it is also in the spool). */
  private async deliver(claim: Claim, body?: Buffer): Promise<void> {
    const now0 = this.clock.now();
    if (body === undefined && (await this.spool.size(claim.queueId)) === undefined) {
      this.log.error({ queue_id: claim.queueId }, 'spool file missing; recipients bounced');
      // Report first: if that fails, the lease retries the whole claim (nothing was delivered).
      await this.dsn?.notify(
        'failed',
        claim,
        claim.recipients.map((r) => ({
          address: r.address,
          status: '4.3.0',
          reply: MISSING_BODY,
          relay: '',
          lastAttempt: now0,
        })),
      );
      await this.store.fail(claim.queueId, MISSING_BODY, now0);
      return;
    }
    const results = await this.transport.deliver({
      queueId: claim.queueId,
      from: claim.sender,
      to: claim.recipients.map((r) => r.address),
      size: claim.size,
      openBody: () => (body === undefined ? this.spool.open(claim.queueId) : bodyStream([body])),
    });
    const now = this.clock.now();
    let updates: Mutable<RecipientUpdate>[] = [];
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
      updates.push({
        id: r.id,
        state,
        attempts,
        nextAttemptAt,
        delayReason: state === 'delivered' ? '' : reason,
        relay: res?.relay ?? '',
        dsn: res?.dsn ?? '',
      });
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
    // The queue tool may have deleted or held the message while this attempt ran.
    const current = await this.store.states(claim.queueId);
    if (!current.size) {
      this.log.info(
        { queue_id: claim.queueId },
        'message deleted during delivery; results, reports and hooks dropped',
      );
      await this.spool.remove(claim.queueId);
      return;
    }
    // A retry does not undo an operator's hold; delivered and bounced really happened.
    updates = updates.filter(
      (u) => u.state !== 'deferred' || current.get(u.id) === 'active' || current.get(u.id) === 'deferred',
    );
    await this.report(claim, updates, now);
    for (const u of updates) this.metrics?.deliveries.inc({ status: u.state });
    // A spool file is removed right after: the results must be on disk first, or a crash could
    // leave a delivered message pending without its body (and bounce it). A body stored with the
    // records is removed after them in the same log, so theirs may wait for the next commit's
    // fsync: a crash before it means a second delivery, as for a crash during this one.
    await this.store.update(updates, now, { sync: !this.spool.storedWithRecords(claim.queueId) });
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

  /**
   * Queues the DSNs this attempt owes, before its results are recorded (a
   * crash in between gives a duplicate report, never a lost one). A bounce
   * that cannot be queued leaves its recipients deferred, so a later attempt
   * bounces them again and reports it then; a delay warning that cannot be
   * queued is tried again on the next attempt.
   */
  private async report(claim: Claim, updates: Mutable<RecipientUpdate>[], now: number): Promise<void> {
    const dsn = this.dsn;
    if (!dsn || !claim.sender) return;
    const addressOf = (u: RecipientUpdate): string =>
      claim.recipients.find((r) => r.id === u.id)?.address ?? '';
    const entry = (u: RecipientUpdate): DsnRecipient => ({
      address: addressOf(u),
      status: u.dsn,
      reply: u.delayReason,
      relay: u.relay,
      lastAttempt: now,
    });
    const bounced = updates.filter((u) => u.state === 'bounced');
    if (bounced.length) {
      try {
        await dsn.notify('failed', claim, bounced.map(entry));
      } catch (err) {
        this.log.error(
          { err, queue_id: claim.queueId },
          'could not queue the bounce report; the failed recipients stay deferred and are retried',
        );
        for (const u of bounced) {
          u.state = 'deferred';
          u.nextAttemptAt = now + retryDelay(this.opts.retry, u.attempts);
        }
      }
    }
    const warnAfter = dsn.opts.delayWarningMs;
    if (warnAfter > 0 && now - claim.arrivalTime >= warnAfter) {
      const due = updates.filter(
        (u) => u.state === 'deferred' && !claim.recipients.find((r) => r.id === u.id)?.delayWarnedAt,
      );
      if (due.length) {
        try {
          await dsn.notify('delayed', claim, due.map(entry), {
            willRetryUntil: claim.arrivalTime + this.opts.retry.lifetimeMs,
          });
          for (const u of due) u.delayWarnedAt = now;
        } catch (err) {
          this.log.error(
            { err, queue_id: claim.queueId },
            'could not queue the delay warning; tried again on the next attempt',
          );
        }
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
