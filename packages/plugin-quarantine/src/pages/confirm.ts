/**
 * pages/confirm.ts — confirming a redirect, /q/c/TOKEN (the link in the
 * confirmation mail sent to the new address).
 *
 * GET asks "send mail held for X to Y?" with one button and changes nothing
 * (security gateways fetch the link). POST (CSRF field required) confirms
 * through QuarantineService.confirmRedirect, which turns the redirect on,
 * sends the mail held so far to the new address and uses up the token; the
 * answer is the result page itself (200), since the token no longer opens a
 * page to redirect to. A refusal (the new address became filtered) is shown
 * with status 400.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { QuarantineInputError } from '../service.js';
import { errorPage, formOk, notFound, type PageKit, type TokenRoute } from './kit.js';

async function showConfirm(kit: PageKit, req: FastifyRequest<TokenRoute>, reply: FastifyReply) {
  const token = req.params.token;
  const c = await kit.service.confirmation(token);
  if (c === undefined) return notFound(kit, reply);
  return kit.view.send(reply, 'confirm', {
    token,
    csrf: await kit.forms.sign(token, 'confirm'),
    recipient: c.recipient,
    to: c.to,
  });
}

async function confirm(kit: PageKit, req: FastifyRequest<TokenRoute>, reply: FastifyReply) {
  const token = req.params.token;
  if ((await kit.service.confirmation(token)) === undefined) return notFound(kit, reply);
  if (!(await formOk(kit, req, token, 'confirm'))) return errorPage(kit, reply, 403, 'csrf');
  let done: { recipient: string; to: string } | undefined;
  try {
    done = await kit.service.confirmRedirect(token);
  } catch (err) {
    if (err instanceof QuarantineInputError) return errorPage(kit, reply, 400, 'input', err.message);
    throw err;
  }
  // Someone else confirmed between the two look-ups: the token is used up.
  if (done === undefined) return notFound(kit, reply);
  return kit.view.send(reply, 'confirm-done', { recipient: done.recipient, to: done.to });
}

/** Registers GET and POST /c/:token (under the pages' /q prefix). */
export function confirmRoutes(app: FastifyInstance, kit: PageKit): void {
  app.get<TokenRoute>('/c/:token', (req, reply) => showConfirm(kit, req, reply));
  app.post<TokenRoute>('/c/:token', (req, reply) => confirm(kit, req, reply));
}
