/**
 * pages/access.ts — "email me a link", /q/access, for people who have no
 * working link (lost, expired or rotated).
 *
 * GET shows a form (sender or recipient, and the address). POST answers the
 * same neutral text whether or not we know the address, and sends the link
 * (QuarantineService.sendAccess) only to that address, after the answer, so
 * neither the text nor the time tells whether the address is known. Limits
 * (limiter.ts, per node): one mail per address per ten minutes (beyond that,
 * the same text and no mail) and a small budget per client IP (beyond that,
 * 429). The form has no token: its CSRF field is signed for the empty token.
 *
 * Behind a reverse proxy every client has the proxy's address unless the
 * HTTP listener trusts the proxy's X-Forwarded-For; the per-IP budget is then
 * shared by all visitors.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAddress } from '../service.js';
import { field } from './body.js';
import { errorPage, formOk, type PageKit, requestAccess } from './kit.js';

type Kind = 'sender' | 'recipient';

async function showAccess(
  kit: PageKit,
  reply: FastifyReply,
  data: { kind?: Kind; address?: string; sent?: boolean; error?: string } = {},
  status = 200,
) {
  return kit.view.send(
    reply,
    'access',
    { csrf: await kit.forms.sign('', 'access'), kind: data.kind ?? 'sender', ...data },
    status,
  );
}

async function askAccess(kit: PageKit, req: FastifyRequest, reply: FastifyReply) {
  if (!(await formOk(kit, req, '', 'access'))) return errorPage(kit, reply, 403, 'csrf');
  if (!kit.limits.perClient.take(req.ip)) return errorPage(kit, reply, 429, 'too-many');
  const kind: Kind = field(req.body, 'kind') === 'recipient' ? 'recipient' : 'sender';
  const address = (field(req.body, 'address') ?? '').trim();
  if (!isAddress(address)) {
    return showAccess(
      kit,
      reply,
      { kind, address, error: 'please enter one mail address, like name@example.com' },
      400,
    );
  }
  requestAccess(kit, req.log, kind, address);
  return showAccess(kit, reply, { kind, sent: true });
}

/** Registers GET and POST /access (under the pages' /q prefix). */
export function accessRoutes(app: FastifyInstance, kit: PageKit): void {
  app.get('/access', (_req, reply) => showAccess(kit, reply));
  app.post('/access', (req, reply) => askAccess(kit, req, reply));
}
