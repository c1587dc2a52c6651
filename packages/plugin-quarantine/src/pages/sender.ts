/**
 * pages/sender.ts — the sender page, /q/s/TOKEN (the token's subject is the
 * sender's address).
 *
 * GET shows the sender's settings (what to do with their mail we think is
 * spam; how often to be told) and the mail held from them, with forms to
 * release or delete checked or all messages, save settings, rotate the link
 * and mail a fresh link. POST does one of those (each form has its own CSRF
 * field) and answers 303 back to the page; rotating answers 303 to the new
 * link, which the page then shows once. Every queue id posted is checked: only
 * messages held from this sender are acted on. Bad settings are shown on the
 * page with status 400.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { key, SENDER_ACTIONS, type SenderAction } from '../records.js';
import { QuarantineInputError } from '../service.js';
import { field, fields } from './body.js';
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
  tokenOfUrl,
  type TokenRoute,
} from './kit.js';

const FORMS = ['selected', 'all', 'settings', 'rotate', 'access'] as const;
type SenderForm = (typeof FORMS)[number];
const DONE = ['released', 'deleted', 'saved', 'rotated', 'access'];
/** Held messages listed on the page (the count says when there are more). */
const LISTED = 200;
/** Queue ids accepted in one POST. */
const MAX_IDS = 500;
/** "Release all" works in rounds of this many, at most ROUNDS rounds per click. */
const BATCH = 100;
const ROUNDS = 50;

/** Which form each POST action belongs to. */
const ACTION_FORM: ReadonlyMap<string, SenderForm> = new Map([
  ['release-selected', 'selected'],
  ['delete-selected', 'selected'],
  ['release-all', 'all'],
  ['delete-all', 'all'],
  ['settings', 'settings'],
  ['rotate', 'rotate'],
  ['access', 'access'],
]);

/** Releases or deletes one message if, and only if, it is held from this sender. */
async function actOn(kit: PageKit, sender: string, queueId: string, release: boolean): Promise<boolean> {
  const held = await kit.service.records.getHeld(queueId);
  if (held?.state !== 'held' || held.sender_key !== sender) return false;
  if (release) return (await kit.service.release(queueId, senderActor)) > 0;
  return kit.service.discard(queueId, senderActor);
}

/** Acts on the checked messages; returns how many were acted on. */
async function actOnSelected(kit: PageKit, sender: string, ids: readonly string[], release: boolean) {
  let n = 0;
  for (const id of new Set(ids)) if (await actOn(kit, sender, id, release)) n++;
  return n;
}

/** Acts on everything held from the sender, in bounded rounds. */
async function actOnAll(kit: PageKit, sender: string, release: boolean): Promise<number> {
  let n = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const batch = await kit.service.list({ sender, limit: BATCH });
    let done = 0;
    for (const h of batch) if (await actOn(kit, sender, h.queueId, release)) done++;
    n += done;
    if (batch.length < BATCH || done === 0) break;
  }
  return n;
}

/** Parses the re-notify field: '' is the default (null); otherwise whole days. Also used by the admin page. */
export function renotifyOf(text: string | undefined): number | null {
  const t = (text ?? '').trim();
  if (t === '') return null;
  if (!/^\d{1,6}$/.test(t))
    throw new QuarantineInputError('re-notify days must be a whole number from 0 to 3650');
  return Number(t);
}

async function showSender(
  kit: PageKit,
  req: FastifyRequest<TokenRoute>,
  reply: FastifyReply,
  status = 200,
  error?: string,
) {
  const token = req.params.token;
  const sender = await subjectOf(kit, token, 'sender');
  if (sender === undefined) return notFound(kit, reply);
  const prefs = await kit.service.senderPrefs(sender);
  const held = await kit.service.list({ sender, limit: LISTED });
  const result = error === undefined ? doneOf(req, DONE) : {};
  return kit.view.send(
    reply,
    'sender',
    {
      token,
      csrf: await kit.forms.signAll(token, FORMS),
      address: sender,
      action: prefs.action,
      renotifyDays: prefs.renotifyDays ?? '',
      defaultDays: kit.service.config.notice.sender_interval,
      keepEvery: kit.service.config.keep_every,
      held: held.map((h) => ({
        id: h.queueId,
        subject: h.subject,
        date: h.createdAt,
        recipients: h.recipients,
        score: h.score,
      })),
      heldCount: await kit.service.count({ sender }),
      ...result,
      ...(result.done === 'rotated' ? { newLink: kit.service.url('sender', token) } : {}),
      ...(error === undefined ? {} : { error }),
    },
    status,
  );
}

async function saveSettings(
  kit: PageKit,
  req: FastifyRequest<TokenRoute>,
  reply: FastifyReply,
  sender: string,
) {
  const action = field(req.body, 'sender-action') as SenderAction | undefined;
  try {
    if (action === undefined || !SENDER_ACTIONS.includes(action)) {
      throw new QuarantineInputError('choose what to do with mail we think is spam');
    }
    await kit.service.setSenderPrefs(sender, {
      action,
      renotifyDays: renotifyOf(field(req.body, 'renotify')),
    });
  } catch (err) {
    if (err instanceof QuarantineInputError) return showSender(kit, req, reply, 400, err.message);
    throw err;
  }
  return seeResult(reply, req.params.token, 'saved');
}

async function actForSender(kit: PageKit, req: FastifyRequest<TokenRoute>, reply: FastifyReply) {
  const token = req.params.token;
  const sender = await subjectOf(kit, token, 'sender');
  if (sender === undefined) return notFound(kit, reply);
  const action = field(req.body, 'action') ?? '';
  const form = ACTION_FORM.get(action);
  if (!(await formOk(kit, req, token, form ?? 'settings'))) return errorPage(kit, reply, 403, 'csrf');
  const release = action.startsWith('release');
  const s = key(sender);
  switch (form) {
    case 'selected':
      return seeResult(
        reply,
        token,
        release ? 'released' : 'deleted',
        await actOnSelected(kit, s, fields(req.body, 'id', MAX_IDS), release),
      );
    case 'all':
      return seeResult(reply, token, release ? 'released' : 'deleted', await actOnAll(kit, s, release));
    case 'settings':
      return saveSettings(kit, req, reply, s);
    case 'rotate':
      return seeResult(reply, tokenOfUrl(await kit.service.rotate('sender', s)), 'rotated');
    case 'access':
      requestAccess(kit, req.log, 'sender', s);
      return seeResult(reply, token, 'access');
    case undefined:
      return errorPage(kit, reply, 400, 'bad-request');
  }
}

/** Registers GET and POST /s/:token (under the pages' /q prefix). */
export function senderRoutes(app: FastifyInstance, kit: PageKit): void {
  app.get<TokenRoute>('/s/:token', (req, reply) => showSender(kit, req, reply));
  app.post<TokenRoute>('/s/:token', (req, reply) => actForSender(kit, req, reply));
}
