/**
 * pages/recipient.ts — the recipient page, /q/r/TOKEN (the token's subject
 * is the recipient's address), and its one-click discard page,
 * /q/r/TOKEN/discard.
 *
 * GET shows the recipient's settings (hold, drop, or redirect to another
 * address, which needs a confirmation from that address first) and the mail
 * held for them, each with "deliver to me" and, when they are its only
 * recipient, "delete" (deleting one recipient's copy of shared mail is left
 * to the sender, who can delete the whole message). POST does one of those
 * (CSRF field per form) and answers 303 back to the page; input errors (a
 * filtered domain as the new address) are shown with status 400. The
 * confirmation of a new redirect is mailed after the answer, which is the
 * same, and as quick, whether or not the new address unsubscribed from such
 * mail.
 *
 * The discard page changes nothing on GET; its POST sets "drop", with the
 * page's CSRF field or as an RFC 8058 one-click POST (`List-Unsubscribe=
 * One-Click`, what mail providers send for the List-Unsubscribe header of
 * our letters), and answers 200 with a short page.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RECIPIENT_ACTIONS, type RecipientAction } from '../records.js';
import { QuarantineInputError } from '../service.js';
import { field, isOneClick } from './body.js';
import {
  doneOf,
  errorPage,
  formOk,
  notFound,
  type PageKit,
  recipientActor,
  requestAccess,
  seeResult,
  subjectOf,
  tokenOfUrl,
  type TokenRoute,
} from './kit.js';

const FORMS = ['message', 'settings', 'rotate', 'access'] as const;
type RecipientForm = (typeof FORMS)[number];
const DONE = ['delivered', 'deleted', 'nothing', 'saved', 'confirm-sent', 'rotated', 'access'];
const LISTED = 200;

const ACTION_FORM: ReadonlyMap<string, RecipientForm> = new Map([
  ['deliver', 'message'],
  ['delete', 'message'],
  ['settings', 'settings'],
  ['rotate', 'rotate'],
  ['access', 'access'],
]);

/** What this recipient may do with a held message: nothing, deliver, or also delete (sole recipient). */
async function rightsOn(
  kit: PageKit,
  recipient: string,
  queueId: string,
): Promise<'none' | 'deliver' | 'all'> {
  const held = await kit.service.get(queueId);
  if (held?.state !== 'held' || !held.recipients.includes(recipient)) return 'none';
  return held.recipients.length === 1 ? 'all' : 'deliver';
}

async function showRecipient(
  kit: PageKit,
  req: FastifyRequest<TokenRoute>,
  reply: FastifyReply,
  status = 200,
  error?: string,
) {
  const token = req.params.token;
  const recipient = await subjectOf(kit, token, 'recipient');
  if (recipient === undefined) return notFound(kit, reply);
  const prefs = await kit.service.recipientPrefs(recipient);
  const held = await kit.service.list({ recipient, limit: LISTED });
  const result = error === undefined ? doneOf(req, DONE) : {};
  const cfg = kit.service.config;
  return kit.view.send(
    reply,
    'recipient',
    {
      token,
      csrf: await kit.forms.signAll(token, FORMS),
      address: recipient,
      action: prefs.action,
      redirectTo: prefs.redirectTo ?? '',
      holdDays: cfg.expire.max_age,
      letterDays: cfg.notice.recipient_interval,
      held: held.map((h) => ({
        id: h.queueId,
        sender: h.sender || '<>',
        subject: h.subject,
        date: h.createdAt,
        canDelete: h.recipients.length === 1,
      })),
      heldCount: await kit.service.count({ recipient }),
      ...result,
      ...(result.done === 'rotated' ? { newLink: kit.service.url('recipient', token) } : {}),
      ...(error === undefined ? {} : { error }),
    },
    status,
  );
}

/** "Deliver to me" or "delete" for one held message. */
async function actOnOne(
  kit: PageKit,
  req: FastifyRequest<TokenRoute>,
  reply: FastifyReply,
  recipient: string,
) {
  const id = field(req.body, 'id') ?? '';
  const rights = await rightsOn(kit, recipient, id);
  const deliver = field(req.body, 'action') === 'deliver';
  if (deliver && rights !== 'none') {
    const n = await kit.service.release(id, recipientActor, recipient);
    return seeResult(reply, req.params.token, n > 0 ? 'delivered' : 'nothing');
  }
  if (!deliver && rights === 'all' && (await kit.service.discard(id, recipientActor))) {
    return seeResult(reply, req.params.token, 'deleted');
  }
  return seeResult(reply, req.params.token, 'nothing');
}

async function saveSettings(
  kit: PageKit,
  req: FastifyRequest<TokenRoute>,
  reply: FastifyReply,
  recipient: string,
) {
  const action = field(req.body, 'recipient-action') as RecipientAction | undefined;
  let done: 'saved' | 'confirm-sent';
  try {
    if (action === undefined || !RECIPIENT_ACTIONS.includes(action)) {
      throw new QuarantineInputError('choose what to do with mail we think is spam');
    }
    if (action === 'redirect') {
      const to = await kit.service.checkRedirect(recipient, field(req.body, 'to') ?? '');
      // One confirmation per new address per window (a mistyped address was refused above, uncounted).
      if (!kit.limits.perAddress.take(`redirect:${to}`)) {
        const text = `we sent a confirmation to ${to} a few minutes ago: please use the link in it`;
        return await showRecipient(kit, req, reply, 429, text);
      }
      // After the answer, like access links: whether `to` unsubscribed (and so whether a
      // token is made and a mail built and queued) must not show in the answer or its time.
      kit.background.run(req.log, 'redirect confirmation', () => kit.service.askConfirmation(recipient, to));
      done = 'confirm-sent';
    } else {
      await kit.service.setRecipientPrefs(recipient, { action });
      done = 'saved';
    }
  } catch (err) {
    if (err instanceof QuarantineInputError) return showRecipient(kit, req, reply, 400, err.message);
    throw err;
  }
  return seeResult(reply, req.params.token, done);
}

async function actForRecipient(kit: PageKit, req: FastifyRequest<TokenRoute>, reply: FastifyReply) {
  const token = req.params.token;
  const recipient = await subjectOf(kit, token, 'recipient');
  if (recipient === undefined) return notFound(kit, reply);
  const form = ACTION_FORM.get(field(req.body, 'action') ?? '');
  if (!(await formOk(kit, req, token, form ?? 'settings'))) return errorPage(kit, reply, 403, 'csrf');
  switch (form) {
    case 'message':
      return actOnOne(kit, req, reply, recipient);
    case 'settings':
      return saveSettings(kit, req, reply, recipient);
    case 'rotate':
      return seeResult(reply, tokenOfUrl(await kit.service.rotate('recipient', recipient)), 'rotated');
    case 'access':
      requestAccess(kit, req.log, 'recipient', recipient);
      return seeResult(reply, token, 'access');
    case undefined:
      return errorPage(kit, reply, 400, 'bad-request');
  }
}

async function showDiscard(kit: PageKit, req: FastifyRequest<TokenRoute>, reply: FastifyReply) {
  const token = req.params.token;
  const recipient = await subjectOf(kit, token, 'recipient');
  if (recipient === undefined) return notFound(kit, reply);
  const prefs = await kit.service.recipientPrefs(recipient);
  return kit.view.send(reply, 'discard', {
    token,
    csrf: await kit.forms.sign(token, 'discard'),
    address: recipient,
    already: prefs.action === 'drop',
  });
}

async function discard(kit: PageKit, req: FastifyRequest<TokenRoute>, reply: FastifyReply) {
  const token = req.params.token;
  const recipient = await subjectOf(kit, token, 'recipient');
  if (recipient === undefined) return notFound(kit, reply);
  // RFC 8058 §3.2: the one-click POST carries no CSRF field; the token in the URL is the capability.
  if (!isOneClick(req.body) && !(await formOk(kit, req, token, 'discard'))) {
    return errorPage(kit, reply, 403, 'csrf');
  }
  await kit.service.setRecipientPrefs(recipient, { action: 'drop' });
  req.log.info({ recipient, one_click: isOneClick(req.body) }, 'recipient chose to drop spammy mail');
  return kit.view.send(reply, 'discard-done', { token, address: recipient });
}

/** Registers the recipient page and its discard page (under the pages' /q prefix). */
export function recipientRoutes(app: FastifyInstance, kit: PageKit): void {
  app.get<TokenRoute>('/r/:token', (req, reply) => showRecipient(kit, req, reply));
  app.post<TokenRoute>('/r/:token', (req, reply) => actForRecipient(kit, req, reply));
  app.get<TokenRoute>('/r/:token/discard', (req, reply) => showDiscard(kit, req, reply));
  app.post<TokenRoute>('/r/:token/discard', (req, reply) => discard(kit, req, reply));
}
