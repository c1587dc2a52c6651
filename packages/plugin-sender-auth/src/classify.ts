/**
 * classify.ts — is the sender ours, and may we tell the sender about held mail?
 *
 * The rule (from the system we rebuild, see REFERENCE.md): a sender is ours
 * when SPF passes; or when the message originated inside our networks or the
 * sender's domain is ours, and SPF does not fail. "Does not fail" means any
 * result but `fail` (softfail, neutral, none and the errors are not a
 * domain's statement that the host may not send: RFC 7208 §8.4 to §8.7). A sender is fit to be told ("ok to bounce") when it is
 * ours, or, with notify_external_senders, when SPF does not fail; never the
 * null sender (RFC 5321 §4.5.5: no notification goes to <>).
 *
 * Pure: it takes the origin and the SPF outcome already found.
 */
import type { Origin } from './origin.js';
import type { SpfOutcome } from './spf.js';

/** Why the sender is, or is not, ours. */
export type ClassificationReason =
  /** SPF passed for the sender at the entry IP. */
  | 'spf-pass'
  /** The message originated inside our networks and SPF did not fail. */
  | 'our-network'
  /** The sender's domain is one of ours and SPF did not fail. */
  | 'our-domain'
  /** SPF failed: whatever else is true, the sender is not ours. */
  | 'spf-fail'
  /** SPF did not pass and neither the network nor the domain is ours. */
  | 'no-pass'
  /** The Received chain could not be read and the domain is not ours. */
  | 'origin-unknown';

/** The answer for one message. Plain JSON data. */
export interface SenderClassification {
  /** Our domain, our network, or SPF pass (the quarantine's "sender is ours"). */
  readonly ours: boolean;
  readonly reason: ClassificationReason;
  /** May the sender be told (reject with a release URL, notices)? */
  readonly okToBounce: boolean;
  /** The envelope sender ('' for <>). */
  readonly sender: string;
  /** The matching entry of our_domains, when the sender's domain is ours. */
  readonly ourDomain?: string;
  readonly origin: Origin;
  readonly spf: SpfOutcome;
}

/** What {@link classifySender} weighs. */
export interface ClassifyInput {
  readonly sender: string;
  readonly origin: Origin;
  readonly spf: SpfOutcome;
  /** The matching entry of our_domains, or undefined. */
  readonly ourDomain: string | undefined;
  readonly notifyExternalSenders: boolean;
}

/**
 * Applies the rule.
 *
 * @example
 * classifySender({ sender: 'a@example.org', origin, spf: { result: 'softfail', ... }, ourDomain: 'example.org', notifyExternalSenders: false });
 * // { ours: true, reason: 'our-domain', okToBounce: true, ... }
 */
export function classifySender(input: ClassifyInput): SenderClassification {
  const { spf, origin } = input;
  const fails = spf.result === 'fail';
  let reason: ClassificationReason;
  if (spf.result === 'pass') reason = 'spf-pass';
  else if (fails) reason = 'spf-fail';
  else if (origin.kind === 'internal') reason = 'our-network';
  else if (input.ourDomain !== undefined) reason = 'our-domain';
  else if (origin.kind === 'unparseable') reason = 'origin-unknown';
  else reason = 'no-pass';
  const ours = reason === 'spf-pass' || reason === 'our-network' || reason === 'our-domain';
  const okToBounce = input.sender !== '' && (ours || (input.notifyExternalSenders && !fails));
  return {
    ours,
    reason,
    okToBounce,
    sender: input.sender,
    ...(input.ourDomain === undefined ? {} : { ourDomain: input.ourDomain }),
    origin,
    spf,
  };
}
