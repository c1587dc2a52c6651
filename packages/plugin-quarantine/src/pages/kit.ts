/**
 * pages/kit.ts — what every route module works with, and the answers they
 * share: the neutral 404, the 403 for a bad form field, token look-up, PRG
 * redirects, and sending "email me a link" mail in the background.
 *
 * A token is checked the same way for every kind: unknown, expired, malformed
 * and wrong-kind tokens all get the same 404 page, which never says whether a
 * token existed. Access mail is sent after the answer (tracked, so shutdown
 * can wait for it; tried again a few times when the database or the queue
 * refuses): the answer takes the same time whether or not the address is
 * known. It does not register routes.
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { key } from '../records.js';
import type { Actor, QuarantineService } from '../service.js';
import type { TokenKind } from '../tokens.js';
import { field } from './body.js';
import type { FormSigner } from './csrf.js';
import type { AccessLimits } from './limiter.js';
import type { PageView } from './view.js';

/** Routes with a token in the path. */
export interface TokenRoute {
  Params: { token: string };
}

/**
 * How long background work that failed waits before each further attempt: a
 * database or the queue may refuse for a moment, and the visitor was already
 * told the mail is on its way.
 */
export const RETRY_DELAYS_MS: readonly number[] = [1_000, 5_000, 30_000];

/** Work started by a request that outlives its answer. */
export class Background {
  private readonly pending = new Set<Promise<void>>();
  /** Retries waiting for their delay; close() calls each to end its wait. */
  private readonly waits = new Set<() => void>();
  private closed = false;

  constructor(private readonly delays: readonly number[] = RETRY_DELAYS_MS) {}

  /**
   * Runs `work`. A failure is logged and tried again after each of the
   * delays; after the last, or once close() was called, it is given up with
   * an error in the log. Never throws.
   */
  run(log: FastifyBaseLogger, what: string, work: () => Promise<unknown>): void {
    const p = this.attempt(log, what, work);
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async attempt(log: FastifyBaseLogger, what: string, work: () => Promise<unknown>): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        await work();
        return;
      } catch (err) {
        const delay = this.delays[tries - 1];
        if (delay === undefined || this.closed) {
          log.error({ err, tries }, `pages: ${what} failed; given up`);
          return;
        }
        log.warn({ err, tries, retry_ms: delay }, `pages: ${what} failed; trying again`);
        if (!(await this.wait(delay))) {
          log.error({ err, tries }, `pages: ${what} failed; given up (stopping)`);
          return;
        }
      }
    }
  }

  /** True after `ms`; false when close() ended the wait first. */
  private wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const end = (elapsed: boolean): void => {
        clearTimeout(timer);
        this.waits.delete(stop);
        resolve(elapsed);
      };
      const stop = (): void => {
        end(false);
      };
      const timer = setTimeout(end, ms, true);
      this.waits.add(stop);
    });
  }

  /** Waits for everything started so far, retries included. */
  async drain(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Stops retrying (work waiting for a retry is given up) and waits for what is running. */
  async close(): Promise<void> {
    this.closed = true;
    for (const done of [...this.waits]) done();
    await this.drain();
  }
}

export interface PageKit {
  readonly service: QuarantineService;
  readonly view: PageView;
  readonly forms: FormSigner;
  readonly limits: AccessLimits;
  readonly background: Background;
}

/** The neutral 404 page (unknown, expired or malformed token, unknown path). */
export function notFound(kit: PageKit, reply: FastifyReply): Promise<FastifyReply> {
  return kit.view.send(reply, 'not-found', {}, 404);
}

/** The error page: `reason` picks its text in error.liquid; `message` is shown when given. */
export function errorPage(
  kit: PageKit,
  reply: FastifyReply,
  status: number,
  reason: 'csrf' | 'bad-request' | 'too-many' | 'input' | 'server' | 'signed-out',
  message?: string,
): Promise<FastifyReply> {
  return kit.view.send(reply, 'error', { status, reason, message }, status);
}

/** The subject of a live token of this kind, or undefined. */
export async function subjectOf(kit: PageKit, token: string, kind: TokenKind): Promise<string | undefined> {
  return (await kit.service.check(token, kind))?.subject;
}

/** True when the request's `csrf` field was made for this token and form. */
export function formOk(kit: PageKit, req: FastifyRequest, token: string, form: string): Promise<boolean> {
  return kit.forms.verify(token, form, field(req.body, 'csrf'));
}

/**
 * Post/Redirect/Get: 303 to the page of `token` (relative to the current
 * /q/x/TOKEN path, so it works under any prefix) with what was done.
 */
export function seeResult(reply: FastifyReply, token: string, done: string, n?: number): FastifyReply {
  const q = new URLSearchParams({ done, ...(n === undefined ? {} : { n: String(n) }) });
  return reply.redirect(`${token}?${q.toString()}`, 303);
}

/** A `done` query value if it is one the page knows, else undefined (never reflected as is). */
export function doneOf(req: FastifyRequest, known: readonly string[]): { done?: string; n?: number } {
  const done = field(req.query, 'done');
  if (done === undefined || !known.includes(done)) return {};
  const n = Number(field(req.query, 'n'));
  return Number.isSafeInteger(n) && n >= 0 ? { done, n } : { done };
}

/** A person acting through a page with a button: scanners may learn from it. */
export const senderActor: Actor = { kind: 'sender', person: true };
export const recipientActor: Actor = { kind: 'recipient', person: true };

/**
 * Sends an access link to an address in the background, at most once per
 * address per window (silently skipped beyond that: the page says the same).
 */
export function requestAccess(
  kit: PageKit,
  log: FastifyBaseLogger,
  kind: 'sender' | 'recipient',
  address: string,
): void {
  if (!kit.limits.perAddress.take(`access:${key(address)}`)) return;
  kit.background.run(log, 'access link', () => kit.service.sendAccess(kind, address));
}

/** The token at the end of a page URL (what rotate returns). */
export function tokenOfUrl(url: string): string {
  return /([A-Za-z0-9_-]{22})$/.exec(url)?.[1] ?? '';
}
