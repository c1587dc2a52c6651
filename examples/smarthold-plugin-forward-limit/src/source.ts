/**
 * source.ts — which of our mailboxes forwarded this message?
 *
 * Forwarded mail reaches the smarthost from one of our own mailbox hosts,
 * which wrote a trace field naming the mailbox it delivered to before the
 * forward: Postfix, qmail and Exim add `Delivered-To:`, Postfix also
 * `X-Original-To:` (the address before alias expansion). Both are added on
 * top, so only the topmost value of each is read: anything below could have
 * been written by the outside sender. With `require_our_domain`, an address
 * counts only when sender-auth's `ourDomain()` knows its domain.
 *
 * Without such a header, a forwarder that rewrites the envelope sender to the
 * forwarding mailbox makes the sender the source — but only when the sender
 * is in our domains **and** the message entered from outside (sender-auth's
 * `origin()`: external). A customer's own mail (internal origin) is not
 * forwarded mail and is not counted. SRS addresses (`SRS0=...`) name no
 * mailbox and are skipped. Pure apart from the two service calls; no DNS.
 */

/** What the decision needs from the transaction and from sender-auth. */
export interface SourceInput {
  /** Every value of a header field, top first. */
  readonly header: (name: string) => readonly string[];
  /** Envelope sender, '' for <>. */
  readonly from: string;
  /** sender-auth's ourDomain(). */
  readonly ourDomain: (address: string) => string | undefined;
  /** sender-auth's origin(tx).kind, asked only when the envelope sender is considered. */
  readonly originKind: () => 'external' | 'internal' | 'unparseable';
}

export interface SourceOptions {
  readonly headers: readonly string[];
  readonly requireOurDomain: boolean;
  readonly envelopeSender: boolean;
}

/** The source mailbox and how it was found, or why there is none. Plain JSON for the results. */
export type Source =
  { readonly mailbox: string; readonly via: string } | { readonly mailbox: null; readonly reason: string };

/** The address in a trace field value: `<a@b>` or a bare `a@b`, lower-cased; undefined when it is not one. */
export function addressIn(value: string): string | undefined {
  const bracketed = /<([^<>]*)>/.exec(value);
  const a = (bracketed ? (bracketed[1] ?? '') : value).trim().toLowerCase();
  return /^[^\s@<>,;"]+@[^\s@<>,;"]+$/.test(a) ? a : undefined;
}

const isSrs = (address: string): boolean => /^srs[01][=+-]/i.test(address);

/** Decides the source mailbox (see the file comment). */
export function findSource(input: SourceInput, opts: SourceOptions): Source {
  for (const name of opts.headers) {
    const top = input.header(name)[0];
    if (top === undefined) continue;
    const a = addressIn(top);
    if (!a || isSrs(a)) continue;
    if (opts.requireOurDomain && input.ourDomain(a) === undefined) continue;
    return { mailbox: a, via: name };
  }
  if (opts.envelopeSender && input.from !== '') {
    const a = addressIn(input.from);
    if (a && !isSrs(a) && input.ourDomain(a) !== undefined) {
      const kind = input.originKind();
      if (kind === 'external') return { mailbox: a, via: 'envelope-sender' };
      return {
        mailbox: null,
        reason: `envelope sender is ours but the origin is ${kind}: not forwarded mail`,
      };
    }
  }
  return { mailbox: null, reason: 'no forwarding mailbox of ours found' };
}
