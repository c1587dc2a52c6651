/**
 * pages/admin-held.ts — the admin page acting on held mail: release or
 * delete one message, or all the mail held from a sender or for a
 * recipient, after a confirmation that shows how many.
 *
 * Routes (under the pages' /q prefix; KIND is `sender` or `recipient`, `a`
 * the address whose page the form was on, `<>` for the null sender):
 *   POST /q/admin/KIND/held   one message: `id`, `action` release | delete
 *   GET  /q/admin/KIND/all    ?a=&do=release|delete: "release (delete) all N
 *                             messages?"; changes nothing, shows the count and
 *                             the form that does it
 *   POST /q/admin/KIND/all    does it when N (`n`, sent back by that form) is
 *                             still the number held; otherwise nothing is done
 *                             and the confirmation is shown again (409) with
 *                             the new number
 *
 * Releasing and deleting are QuarantineService.release and .discard with
 * the operator as actor, the calls `smarthold quarantine release ID` and
 * `delete ID` make: a release delivers the held copy to every recipient it
 * is held for (a recipient who redirects gets it at the new address), a
 * delete discards it for all of them, and scanners learn from either as
 * `[plugin.quarantine.learn]` says. Only a message still held from (or for)
 * the page's address is acted on. Every POST needs the session's CSRF field
 * of its form; every message acted on is logged at info with the admin's
 * name, and acting on all adds a line with the count. The answer is a 303
 * back to the address's page, saying what was done. It does not show the
 * address's page (admin-lookup.ts) or check sessions (admin.ts).
 */
import { isQueueId } from '@smarthold/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { key } from '../records.js';
import type { Actor, HeldMessage } from '../service.js';
import {
  type AdminKit,
  addressParam,
  barOf,
  formToken,
  HELD_ALL_FORM,
  HELD_FORM,
  type Kind,
  requireSession,
  seeDone,
  shown,
} from './admin.js';
import { field } from './body.js';
import { errorPage, formOk, type PageKit } from './kit.js';
import type { AdminSession } from './session.js';

/** As the CLI acts: the operator, a person (so scanners may learn from it). */
const OPERATOR: Actor = { kind: 'operator', person: true };
/** "All" works in rounds of this many, at most ROUNDS rounds per confirmation (as the sender's own page). */
const BATCH = 100;
const ROUNDS = 50;

type Act = 'release' | 'delete';

/** Who acts on which address's mail. */
interface Target {
  readonly admin: AdminKit;
  readonly session: AdminSession;
  readonly kind: Kind;
  readonly address: string;
}

const actOf = (v: string | undefined): Act | undefined => (v === 'release' || v === 'delete' ? v : undefined);

const heldOf = (t: Target) => (t.kind === 'sender' ? { sender: t.address } : { recipient: t.address });

/** True when the message is still held from (sender) or for (recipient) the address. */
function belongs(h: HeldMessage | undefined, t: Target): boolean {
  if (h?.state !== 'held') return false;
  return t.kind === 'sender' ? key(h.sender) === t.address : h.recipients.includes(t.address);
}

/** Releases or deletes one message of the address, logged with the admin's name; false when nothing was done. */
async function actOn(kit: PageKit, t: Target, queueId: string, act: Act): Promise<boolean> {
  if (!belongs(await kit.service.get(queueId), t)) return false;
  const who = { admin: t.session.user, queue_id: queueId, [t.kind]: shown(t.address), action: act };
  if (act === 'release') {
    const n = await kit.service.release(queueId, OPERATOR);
    t.admin.log.info({ ...who, recipients: n }, 'admin released held message');
    return n > 0;
  }
  if (!(await kit.service.discard(queueId, OPERATOR))) return false;
  t.admin.log.info(who, 'admin deleted held message');
  return true;
}

/** Acts on everything held of the address, in bounded rounds; returns how many messages. */
async function actOnAll(kit: PageKit, t: Target, act: Act): Promise<number> {
  let n = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const batch = await kit.service.list({ ...heldOf(t), limit: BATCH });
    let done = 0;
    for (const h of batch) if (await actOn(kit, t, h.queueId, act)) done++;
    n += done;
    if (batch.length < BATCH || done === 0) break;
  }
  return n;
}

/** "Release (delete) all N?": the count and the form that does it; `was` is the number an outdated form confirmed. */
async function showConfirm(
  kit: PageKit,
  reply: FastifyReply,
  t: Target,
  act: Act,
  was?: number,
): Promise<FastifyReply> {
  const count = await kit.service.count(heldOf(t));
  return kit.view.send(
    reply,
    'admin-confirm',
    {
      admin: await barOf(kit, t.session),
      csrf: await kit.forms.sign(formToken(t.session), HELD_ALL_FORM),
      kind: t.kind,
      address: shown(t.address),
      act,
      count,
      changed: was !== undefined,
      was: was ?? 0,
    },
    was === undefined ? 200 : 409,
  );
}

/** The session and the address of an admin request, or (having answered) undefined. */
async function targetOf(
  kit: PageKit,
  admin: AdminKit,
  kind: Kind,
  req: FastifyRequest,
  reply: FastifyReply,
  form?: string,
): Promise<Target | undefined> {
  const session = await requireSession(kit, admin, req, reply);
  if (session === undefined) return undefined;
  if (form !== undefined && !(await formOk(kit, req, formToken(session), form))) {
    await errorPage(kit, reply, 403, 'csrf');
    return undefined;
  }
  const address = addressParam(req, kind);
  if (address === undefined) {
    await errorPage(kit, reply, 400, 'bad-request');
    return undefined;
  }
  return { admin, session, kind, address };
}

async function one(kit: PageKit, admin: AdminKit, kind: Kind, req: FastifyRequest, reply: FastifyReply) {
  const t = await targetOf(kit, admin, kind, req, reply, HELD_FORM);
  if (t === undefined) return reply;
  const act = actOf(field(req.body, 'action'));
  const id = field(req.body, 'id') ?? '';
  if (act === undefined || !isQueueId(id)) return errorPage(kit, reply, 400, 'bad-request');
  if (!(await actOn(kit, t, id, act))) return seeDone(req, reply, kind, t.address, 'nothing');
  return seeDone(req, reply, kind, t.address, act === 'release' ? 'released' : 'deleted', 1);
}

async function confirm(kit: PageKit, admin: AdminKit, kind: Kind, req: FastifyRequest, reply: FastifyReply) {
  const t = await targetOf(kit, admin, kind, req, reply);
  if (t === undefined) return reply;
  const act = actOf(field(req.query, 'do'));
  if (act === undefined) return errorPage(kit, reply, 400, 'bad-request');
  return showConfirm(kit, reply, t, act);
}

async function all(kit: PageKit, admin: AdminKit, kind: Kind, req: FastifyRequest, reply: FastifyReply) {
  const t = await targetOf(kit, admin, kind, req, reply, HELD_ALL_FORM);
  if (t === undefined) return reply;
  const act = actOf(field(req.body, 'do'));
  const confirmed = Number(field(req.body, 'n') ?? '');
  if (act === undefined || !Number.isSafeInteger(confirmed) || confirmed < 0) {
    return errorPage(kit, reply, 400, 'bad-request');
  }
  // What was confirmed is a number: if mail arrived or left since, the admin decides again.
  if ((await kit.service.count(heldOf(t))) !== confirmed) return showConfirm(kit, reply, t, act, confirmed);
  if (confirmed === 0) return seeDone(req, reply, kind, t.address, 'nothing');
  const n = await actOnAll(kit, t, act);
  admin.log.info(
    { admin: t.session.user, [kind]: shown(t.address), action: `${act}-all`, messages: n },
    `admin ${act === 'release' ? 'released' : 'deleted'} all held mail of an address`,
  );
  return seeDone(req, reply, kind, t.address, act === 'release' ? 'released' : 'deleted', n);
}

/** Registers the release and delete routes of the sender and recipient pages (under the pages' /q prefix). */
export function adminHeldRoutes(app: FastifyInstance, kit: PageKit, admin: AdminKit): void {
  for (const kind of ['sender', 'recipient'] as const) {
    app.post(`/admin/${kind}/held`, (req, reply) => one(kit, admin, kind, req, reply));
    app.get(`/admin/${kind}/all`, (req, reply) => confirm(kit, admin, kind, req, reply));
    app.post(`/admin/${kind}/all`, (req, reply) => all(kit, admin, kind, req, reply));
  }
}
