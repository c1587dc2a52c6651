/**
 * pages/message.ts — the message page, /q/m/TOKEN (the link in the reject).
 *
 * GET shows one held message: sender, date, subject, score, recipients,
 * state and its header block, with Release and Delete buttons while it is
 * held; the sender's other held messages (subject and date only); and a form
 * to mail the sender a link to all of them. POST does one of those (CSRF
 * field required) and answers 303 back to the page (Post/Redirect/Get), which
 * shows the result. Acting goes through QuarantineService only; a second
 * release finds nothing held and says so. GET and HEAD change nothing.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type HeldMessage, isAddress } from '../service.js';
import { field } from './body.js';
import {
  doneOf,
  errorPage,
  formOk,
  notFound,
  type PageKit,
  requestAccess,
  seeResult,
  senderActor,
  subjectOf,
  type TokenRoute,
} from './kit.js';

const FORMS = ['act', 'access'] as const;
const DONE = ['released', 'deleted', 'nothing', 'access'];
/** Other held messages of the sender listed on the page. */
const OTHERS_SHOWN = 10;

/** The header block as received, as text (UTF-8 where it is; LF line ends), or '' when the body is gone. */
async function headerBlock(kit: PageKit, queueId: string): Promise<string> {
  try {
    return Buffer.from(await kit.service.headers(queueId), 'latin1')
      .toString('utf8')
      .replace(/\r\n/g, '\n');
  } catch {
    return '';
  }
}

/** The sender's other held messages (none for the null sender: <> is nobody's address). */
async function othersOf(
  kit: PageKit,
  held: HeldMessage,
): Promise<{ others: { subject: string; date: number }[]; more: number }> {
  if (!isAddress(held.sender)) return { others: [], more: 0 };
  const list = await kit.service.list({ sender: held.sender, limit: OTHERS_SHOWN + 1 });
  const others = list.filter((h) => h.queueId !== held.queueId).slice(0, OTHERS_SHOWN);
  const total = await kit.service.count({ sender: held.sender });
  const self = held.state === 'held' ? 1 : 0;
  return {
    others: others.map((h) => ({ subject: h.subject, date: h.createdAt })),
    more: Math.max(0, total - self - others.length),
  };
}

async function showMessage(kit: PageKit, req: FastifyRequest<TokenRoute>, reply: FastifyReply) {
  const token = req.params.token;
  const queueId = await subjectOf(kit, token, 'message');
  const held = queueId === undefined ? undefined : await kit.service.get(queueId);
  if (held === undefined) return notFound(kit, reply);
  const isHeld = held.state === 'held';
  const { others, more } = await othersOf(kit, held);
  return kit.view.send(reply, 'message', {
    token,
    csrf: await kit.forms.signAll(token, FORMS),
    msg: {
      sender: held.sender || '<>',
      date: held.createdAt,
      subject: held.subject,
      score: held.score,
      threshold: held.threshold,
      recipients: held.recipients,
      state: held.state,
      stateAt: held.stateAt,
    },
    held: isHeld,
    headers: isHeld ? await headerBlock(kit, held.queueId) : '',
    others,
    more,
    canAsk: isAddress(held.sender),
    ...doneOf(req, DONE),
  });
}

async function actOnMessage(kit: PageKit, req: FastifyRequest<TokenRoute>, reply: FastifyReply) {
  const token = req.params.token;
  const queueId = await subjectOf(kit, token, 'message');
  if (queueId === undefined) return notFound(kit, reply);
  const action = field(req.body, 'action');
  const form =
    action === 'release' || action === 'delete' ? 'act' : action === 'access' ? 'access' : undefined;
  if (!(await formOk(kit, req, token, form ?? 'act'))) return errorPage(kit, reply, 403, 'csrf');
  if (action === 'release') {
    const n = await kit.service.release(queueId, senderActor);
    return seeResult(reply, token, n > 0 ? 'released' : 'nothing', n);
  }
  if (action === 'delete') {
    return seeResult(reply, token, (await kit.service.discard(queueId, senderActor)) ? 'deleted' : 'nothing');
  }
  if (action === 'access') {
    const held = await kit.service.get(queueId);
    if (held !== undefined && isAddress(held.sender)) requestAccess(kit, req.log, 'sender', held.sender);
    return seeResult(reply, token, 'access');
  }
  return errorPage(kit, reply, 400, 'bad-request');
}

/** Registers GET and POST /m/:token (under the pages' /q prefix). */
export function messageRoutes(app: FastifyInstance, kit: PageKit): void {
  app.get<TokenRoute>('/m/:token', (req, reply) => showMessage(kit, req, reply));
  app.post<TokenRoute>('/m/:token', (req, reply) => actOnMessage(kit, req, reply));
}
