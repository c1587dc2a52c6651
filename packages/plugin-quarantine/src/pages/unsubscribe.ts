/**
 * pages/unsubscribe.ts — the unsubscribe page, /q/u/TOKEN (the
 * List-Unsubscribe link of mail a page sends to an address someone typed:
 * access links, redirect confirmations). The token's subject is the address.
 *
 * GET asks "stop mail to ADDRESS?" with one button and changes nothing
 * (security gateways fetch every link). POST stops it, with the page's CSRF
 * field or as an RFC 8058 one-click POST (`List-Unsubscribe=One-Click`,
 * urlencoded or multipart, no CSRF field: the token in the URL is the
 * capability, §3.2), through QuarantineService.unsubscribe, and answers 200
 * with a short page; a second POST changes nothing more. The token stays
 * usable until it expires, so the link keeps answering. Clearing an
 * unsubscription is the operator's (`smarthold quarantine prefs`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isOneClick } from './body.js';
import { errorPage, formOk, notFound, type PageKit, subjectOf, type TokenRoute } from './kit.js';

async function showUnsubscribe(kit: PageKit, req: FastifyRequest<TokenRoute>, reply: FastifyReply) {
  const token = req.params.token;
  const address = await subjectOf(kit, token, 'unsubscribe');
  if (address === undefined) return notFound(kit, reply);
  return kit.view.send(reply, 'unsubscribe', {
    token,
    csrf: await kit.forms.sign(token, 'unsubscribe'),
    address,
    already: (await kit.service.unsubscribed(address)) !== undefined,
  });
}

async function unsubscribe(kit: PageKit, req: FastifyRequest<TokenRoute>, reply: FastifyReply) {
  const token = req.params.token;
  const address = await subjectOf(kit, token, 'unsubscribe');
  if (address === undefined) return notFound(kit, reply);
  const oneClick = isOneClick(req.body);
  if (!oneClick && !(await formOk(kit, req, token, 'unsubscribe'))) {
    return errorPage(kit, reply, 403, 'csrf');
  }
  await kit.service.unsubscribe(address, oneClick ? 'one-click' : 'form');
  return kit.view.send(reply, 'unsubscribe-done', { address });
}

/** Registers GET and POST /u/:token (under the pages' /q prefix). */
export function unsubscribeRoutes(app: FastifyInstance, kit: PageKit): void {
  app.get<TokenRoute>('/u/:token', (req, reply) => showUnsubscribe(kit, req, reply));
  app.post<TokenRoute>('/u/:token', (req, reply) => unsubscribe(kit, req, reply));
}
