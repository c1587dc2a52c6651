/**
 * smtp/address.ts — envelope address checks at MAIL and RCPT.
 *
 * Address literals (RFC 5321 §4.1.3, user@[192.0.2.1]) are refused unless
 * allowed; non-ASCII addresses need SMTPUTF8 (RFC 6531 §3.4). It returns a
 * reply or nothing; it does not parse the address (smtp-server did).
 */
import { reply, type SmtpReply } from './reply.js';

/** Checks one envelope address. `''` (the null sender) always passes. */
export function checkAddress(
  address: string,
  opts: { smtpUtf8: boolean; allowLiterals: boolean; role: 'sender' | 'recipient' },
): SmtpReply | undefined {
  if (address === '') return undefined;
  const at = address.lastIndexOf('@');
  const domain = at >= 0 ? address.slice(at + 1) : '';
  const status = opts.role === 'sender' ? '5.1.7' : '5.1.3';
  if (domain.startsWith('[') && !opts.allowLiterals) {
    return reply(553, status, 'Address literals are not accepted here');
  }
  if (/[^\x00-\x7f]/.test(address) && !opts.smtpUtf8) {
    return reply(553, '5.6.7', 'Non-ASCII address requires the SMTPUTF8 parameter');
  }
  return undefined;
}
