/**
 * smtp/policy.ts — smarthold's own checks on a recipient, before any plugin.
 *
 * The address itself (literals, SMTPUTF8), the recipient limit and relay
 * access: a client outside `relay_networks` that has not authenticated gets
 * 554 5.7.1. Shared by ingress and the testkit's socket-less driver, so both
 * apply the same rules. It does not run plugin hooks.
 */
import type { Config } from '../config/schema.js';
import type { SessionInfo } from '../plugin/api.js';
import { checkAddress } from './address.js';
import { reply, type SmtpReply } from './reply.js';

/** What the recipient check needs to know. */
export interface RecipientCheck {
  readonly address: string;
  readonly smtpUtf8: boolean;
  /** Recipients already accepted in this transaction. */
  readonly accepted: number;
  readonly session: Pick<SessionInfo, 'trustedNetwork' | 'user'>;
}

/** The refusal for a recipient, or undefined when plugins may look at it. */
export function checkRecipient(smtp: Config['smtp'], c: RecipientCheck): SmtpReply | undefined {
  const bad = checkAddress(c.address, {
    smtpUtf8: c.smtpUtf8,
    allowLiterals: smtp.address_literals,
    role: 'recipient',
  });
  if (bad) return bad;
  if (c.accepted >= smtp.max_recipients) return reply(452, '4.5.3', 'Too many recipients');
  if (!c.session.trustedNetwork && c.session.user === undefined)
    return reply(554, '5.7.1', `<${c.address}>: Relay access denied`);
  return undefined;
}
