/**
 * pages/kit.ts — what every route module works with, and the answers they
 * share: the neutral 404, the 403 for a bad form field, token look-up, PRG
 * redirects, and sending "email me a link" mail in the background.
 *
 * A token is checked the same way for every kind: unknown, expired, malformed
 * and wrong-kind tokens all get the same 404 page, which never says whether a
 * token existed. Access mail is sent after the answer (tracked, so shutdown
 * can wait for it): the answer takes the same time whether or not the
 * address is known. It does not register routes.
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

/** Work started by a request that outlives its answer. */
export class Background {
  private readonly pending = new Set<Promise<void>>();

  /** Runs `work`, logging (not throwing) its failure. */
  run(log: FastifyBaseLogger, what: string, work: () => Promise<unknown>): void {
    const p: Promise<void> = work().then(
      () => undefined,
      (err: unknown) => {
        log.warn({ err }, `pages: ${what} failed`);
      },
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Waits for everything started so far. */
  async drain(): Promise<void> {
    await Promise.all([...this.pending]);
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
