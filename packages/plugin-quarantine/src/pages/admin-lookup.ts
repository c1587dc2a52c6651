/**
 * pages/admin-lookup.ts — the admin page's look-up: find senders and
 * recipients, see their settings, counters, dates and mail, change their
 * settings.
 *
 * GET /q/admin?q=TEXT&in=both|senders|recipients lists the senders and the
 * recipients whose address contains TEXT (case-insensitive), the exact
 * address first, at most RESULTS of each (the page says when there are more).
 * GET /q/admin/sender?a=ADDRESS and /q/admin/recipient?a=ADDRESS show one
 * address: its settings, the counters and dates of its record, and its mail
 * in the quarantine (every state the records still hold, newest first), with
 * the forms that release or delete it (admin-held.ts). An address without a
 * record shows the defaults. The null sender is looked up as `<>` (search
 * for it, or a=<>): its held mail is shown, but it has no settings (nobody
 * can be told, so it is never bounced to). POST to the same paths saves
 * settings through QuarantineService, as the sender's and recipient's own
 * pages and the CLI do; an admin's redirect is an operator's (like `smarthold
 * quarantine prefs --set recipient.redirect=`): it takes effect at once, with
 * no confirmation mail, and the mail held so far goes to the new address.
 * Input errors are shown with 400. The session check and sign-in are in
 * admin.ts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  key,
  RECIPIENT_ACTIONS,
  type RecipientAction,
  SENDER_ACTIONS,
  type SenderAction,
} from '../records.js';
import { QuarantineInputError } from '../service.js';
import {
  type AdminKit,
  addressParam,
  barOf,
  formToken,
  HELD_FORM,
  type Kind,
  MAX_TEXT,
  NULL_SENDER,
  requireSession,
  seeDone,
  shown,
} from './admin.js';
import { field } from './body.js';
import { doneOf, errorPage, formOk, type PageKit } from './kit.js';
import { renotifyOf } from './sender.js';
import type { AdminSession } from './session.js';

/** Matches listed per kind on the search page. */
const RESULTS = 50;
/** Messages listed on an address's page (the count says when there are more). */
const LISTED = 100;
const DONE = ['saved', 'released', 'deleted', 'nothing'];
type Scope = 'both' | 'senders' | 'recipients';

/** The null sender's row in the search: it has no record, so its counts come from its mail. */
async function nullSenderRow(kit: PageKit) {
  const [newest] = await kit.service.list({ sender: '', state: 'any', limit: 1 });
  return {
    address: NULL_SENDER,
    action: 'none: never told (null sender)',
    spamCount: await kit.service.count({ sender: '', state: 'any' }),
    lastSeen: newest?.createdAt ?? '',
  };
}

/** The exact row first (when there is one), then the other matches, at most RESULTS; `more` when some were left out. */
function exactFirst<R extends { address: string }>(exact: R | undefined, found: R[]) {
  const rows = [...(exact ? [exact] : []), ...found.filter((r) => r.address !== exact?.address)];
  return { rows: rows.slice(0, RESULTS), more: rows.length > RESULTS };
}

async function search(kit: PageKit, admin: AdminKit, req: FastifyRequest, reply: FastifyReply) {
  const s = await requireSession(kit, admin, req, reply);
  if (s === undefined) return reply;
  const q = key(field(req.query, 'q') ?? '').slice(0, MAX_TEXT);
  const given = field(req.query, 'in');
  const scope: Scope = given === 'senders' || given === 'recipients' ? given : 'both';
  const data: Record<string, unknown> = {
    admin: await barOf(kit, s),
    q,
    scope,
    heldTotal: await kit.service.count(),
  };
  if (q !== '') {
    const records = kit.service.records;
    if (scope !== 'recipients') {
      const found = await records.findSenders(q, RESULTS + 1);
      const r = exactFirst(await records.senderRow(q), found);
      data['senders'] = [
        ...(q === NULL_SENDER ? [await nullSenderRow(kit)] : []),
        ...r.rows.map((row) => ({
          address: row.address,
          action: row.action,
          spamCount: row.spam_count,
          lastSeen: row.last_seen,
        })),
      ];
      data['sendersMore'] = r.more;
    }
    if (scope !== 'senders') {
      const found = await records.findRecipients(q, RESULTS + 1);
      const r = exactFirst(await records.recipientRow(q), found);
      data['recipients'] = r.rows.map((row) => ({
        address: row.address,
        action: row.action,
        redirectTo: row.redirect_to ?? '',
        spamCount: row.spam_count,
        lastSeen: row.last_seen,
      }));
      data['recipientsMore'] = r.more;
    }
  }
  return kit.view.send(reply, 'admin', data);
}

async function showSender(
  kit: PageKit,
  req: FastifyRequest,
  reply: FastifyReply,
  s: AdminSession,
  address: string,
  status = 200,
  error?: string,
) {
  const records = kit.service.records;
  const row = await records.senderRow(address);
  const held = await kit.service.list({ sender: address, state: 'any', limit: LISTED });
  return kit.view.send(
    reply,
    'admin-sender',
    {
      admin: await barOf(kit, s),
      csrf: await kit.forms.sign(formToken(s), 'sender'),
      heldCsrf: await kit.forms.sign(formToken(s), HELD_FORM),
      address: shown(address),
      nullSender: address === '',
      known: row !== undefined,
      action: row?.action ?? 'quarantine',
      renotifyDays: row?.renotify_days ?? '',
      renotifyDefault: (row?.renotify_days ?? null) === null,
      defaultDays: kit.service.config.notice.sender_interval,
      keepEvery: kit.service.config.keep_every,
      spamCount: row?.spam_count ?? 0,
      discardedCount: row?.discarded_count ?? 0,
      firstSeen: row?.first_seen ?? '',
      lastSeen: row?.last_seen ?? '',
      notices: (await records.senderNotices(address, 20)).map((n) => ({ ip: n.ip, at: n.notified_at })),
      held: held.map((h) => ({
        id: h.queueId,
        date: h.createdAt,
        subject: h.subject,
        recipients: h.recipients,
        score: h.score,
        state: h.state,
        stateAt: h.stateAt,
      })),
      heldCount: await kit.service.count({ sender: address }),
      allCount: await kit.service.count({ sender: address, state: 'any' }),
      ...(error === undefined ? doneOf(req, DONE) : { error }),
    },
    status,
  );
}

async function showRecipient(
  kit: PageKit,
  req: FastifyRequest,
  reply: FastifyReply,
  s: AdminSession,
  address: string,
  status = 200,
  error?: string,
) {
  const row = await kit.service.records.recipientRow(address);
  const held = await kit.service.list({ recipient: address, state: 'any', limit: LISTED });
  return kit.view.send(
    reply,
    'admin-recipient',
    {
      admin: await barOf(kit, s),
      csrf: await kit.forms.sign(formToken(s), 'recipient'),
      heldCsrf: await kit.forms.sign(formToken(s), HELD_FORM),
      address,
      known: row !== undefined,
      action: row?.action ?? 'hold',
      redirectTo: row?.redirect_to ?? '',
      pending: await kit.service.pendingRedirects(address),
      spamCount: row?.spam_count ?? 0,
      heldSinceNotice: row?.held_since_notice ?? 0,
      lastNotifiedAt: row?.last_notified_at || '',
      firstSeen: row?.first_seen ?? '',
      lastSeen: row?.last_seen ?? '',
      held: held.map((h) => ({
        id: h.queueId,
        date: h.createdAt,
        sender: shown(h.sender),
        subject: h.subject,
        state: h.state,
        stateAt: h.stateAt,
      })),
      heldCount: await kit.service.count({ recipient: address }),
      allCount: await kit.service.count({ recipient: address, state: 'any' }),
      ...(error === undefined ? doneOf(req, DONE) : { error }),
    },
    status,
  );
}

async function saveSender(
  kit: PageKit,
  admin: AdminKit,
  req: FastifyRequest,
  reply: FastifyReply,
  s: AdminSession,
  address: string,
) {
  const action = field(req.body, 'sender-action') as SenderAction | undefined;
  try {
    if (action === undefined || !SENDER_ACTIONS.includes(action)) {
      throw new QuarantineInputError('choose what to do with spammy mail from this sender');
    }
    const renotifyDays = renotifyOf(field(req.body, 'renotify'));
    await kit.service.setSenderPrefs(address, { action, renotifyDays });
    admin.log.info(
      { admin: s.user, sender: address, action, renotify_days: renotifyDays },
      'admin set sender',
    );
  } catch (err) {
    if (err instanceof QuarantineInputError) return showSender(kit, req, reply, s, address, 400, err.message);
    throw err;
  }
  return seeDone(req, reply, 'sender', address, 'saved');
}

async function saveRecipient(
  kit: PageKit,
  admin: AdminKit,
  req: FastifyRequest,
  reply: FastifyReply,
  s: AdminSession,
  address: string,
) {
  const action = field(req.body, 'recipient-action') as RecipientAction | undefined;
  const to = key(field(req.body, 'to') ?? '');
  try {
    if (action === undefined || !RECIPIENT_ACTIONS.includes(action)) {
      throw new QuarantineInputError('choose what to do with spammy mail for this recipient');
    }
    await kit.service.setRecipientPrefs(
      address,
      action === 'redirect' ? { action, to, confirmed: true } : { action },
    );
    admin.log.info(
      { admin: s.user, recipient: address, action, ...(action === 'redirect' ? { to } : {}) },
      'admin set recipient',
    );
  } catch (err) {
    if (err instanceof QuarantineInputError) {
      return showRecipient(kit, req, reply, s, address, 400, err.message);
    }
    throw err;
  }
  return seeDone(req, reply, 'recipient', address, 'saved');
}

/** GET shows an address's page; POST saves its settings (CSRF field of the session's form). */
function addressRoutes(app: FastifyInstance, kit: PageKit, admin: AdminKit, kind: Kind): void {
  const show = kind === 'sender' ? showSender : showRecipient;
  const save = kind === 'sender' ? saveSender : saveRecipient;
  app.get(`/admin/${kind}`, async (req, reply) => {
    const s = await requireSession(kit, admin, req, reply);
    if (s === undefined) return reply;
    const address = addressParam(req, kind);
    if (address === undefined) return errorPage(kit, reply, 400, 'bad-request');
    return show(kit, req, reply, s, address);
  });
  app.post(`/admin/${kind}`, async (req, reply) => {
    const s = await requireSession(kit, admin, req, reply);
    if (s === undefined) return reply;
    if (!(await formOk(kit, req, formToken(s), kind))) return errorPage(kit, reply, 403, 'csrf');
    const address = addressParam(req, kind);
    if (address === undefined) return errorPage(kit, reply, 400, 'bad-request');
    return save(kit, admin, req, reply, s, address);
  });
}

/** Registers the search page and the sender and recipient pages (under the pages' /q prefix). */
export function adminLookupRoutes(app: FastifyInstance, kit: PageKit, admin: AdminKit): void {
  app.get('/admin', (req, reply) => search(kit, admin, req, reply));
  addressRoutes(app, kit, admin, 'sender');
  addressRoutes(app, kit, admin, 'recipient');
}
