/**
 * plugin/verdict.ts — what a hook answers.
 *
 * A hook returns a verdict, a plain discriminated union; it never writes an
 * SMTP reply itself. smtp/reply.ts is the one place that turns verdicts into
 * replies. This file only defines the shapes and small constructors.
 */

/** Overrides for the reply a verdict turns into. Each line of `text` becomes a line of a multi-line reply. */
export interface ReplySpec {
  /** Three-digit SMTP code; must agree with the verdict (4xx for tempfail, 5xx for reject). */
  readonly code?: number;
  /** RFC 3463 enhanced status code, e.g. "5.7.1". */
  readonly enhanced?: string;
  readonly text?: string | readonly string[];
}

/** No opinion: ask the next plugin. */
export interface ContinueVerdict {
  readonly kind: 'continue';
}
/** Accept this command now; later plugins' hooks for this command are skipped. Connect/helo/mail/rcpt only. */
export interface AcceptVerdict {
  readonly kind: 'accept';
}
/** Refuse permanently (5xx). At data/queue, `hold` keeps the message in the hold queue although it is refused. */
export interface RejectVerdict extends ReplySpec {
  readonly kind: 'reject';
  readonly hold?: { readonly reason: string };
}
/** Refuse for now (4xx): the client tries again later. */
export interface TempfailVerdict extends ReplySpec {
  readonly kind: 'tempfail';
}
/** Accept the message and keep it in the hold queue for every recipient. */
export interface HoldVerdict {
  readonly kind: 'hold';
  readonly reason: string;
}
/** Accept the message and deliver it to nobody (kept as a record only). */
export interface DiscardVerdict {
  readonly kind: 'discard';
  readonly reason: string;
}
/** What happens to one recipient of an accepted message. */
export type RecipientOutcome =
  | { readonly kind: 'deliver' }
  | { readonly kind: 'hold'; readonly reason: string }
  | { readonly kind: 'discard'; readonly reason: string };
/** Accept the message with an outcome per recipient (keyed by the address as given at RCPT). Unnamed recipients are delivered. */
export interface RecipientsVerdict {
  readonly kind: 'recipients';
  readonly outcomes: Readonly<Record<string, RecipientOutcome>>;
}

export type Verdict =
  | ContinueVerdict
  | AcceptVerdict
  | RejectVerdict
  | TempfailVerdict
  | HoldVerdict
  | DiscardVerdict
  | RecipientsVerdict;

/** Verdicts allowed at connect, helo, mail and rcpt. */
export type CommandVerdict = ContinueVerdict | AcceptVerdict | RejectVerdict | TempfailVerdict;
/** Verdicts allowed at data and queue. */
export type MessageVerdict =
  ContinueVerdict | RejectVerdict | TempfailVerdict | HoldVerdict | DiscardVerdict | RecipientsVerdict;

function spec(text: string | readonly string[] | undefined, opts: Omit<ReplySpec, 'text'>): ReplySpec {
  return { ...opts, ...(text === undefined ? {} : { text }) };
}

/**
 * Constructors for verdicts.
 *
 * @example
 * ctx.hook('rcpt', async (tx, rcpt) => rcpt.endsWith('@blocked.example') ? verdict.reject('no such user', { code: 550, enhanced: '5.1.1' }) : verdict.next());
 */
export const verdict = {
  next: (): ContinueVerdict => ({ kind: 'continue' }),
  accept: (): AcceptVerdict => ({ kind: 'accept' }),
  reject: (
    text?: string | readonly string[],
    opts: Omit<RejectVerdict, 'kind' | 'text'> = {},
  ): RejectVerdict => ({
    kind: 'reject',
    ...spec(text, opts),
    ...(opts.hold ? { hold: opts.hold } : {}),
  }),
  tempfail: (text?: string | readonly string[], opts: Omit<ReplySpec, 'text'> = {}): TempfailVerdict => ({
    kind: 'tempfail',
    ...spec(text, opts),
  }),
  hold: (reason: string): HoldVerdict => ({ kind: 'hold', reason }),
  discard: (reason: string): DiscardVerdict => ({ kind: 'discard', reason }),
  recipients: (outcomes: Record<string, RecipientOutcome>): RecipientsVerdict => ({
    kind: 'recipients',
    outcomes,
  }),
} as const;

/** A short text for traces and logs: "reject 550 5.1.1", "hold", "recipients(2)". */
export function describeVerdict(v: Verdict): string {
  switch (v.kind) {
    case 'reject':
    case 'tempfail':
      return [v.kind, v.code, v.enhanced, v.kind === 'reject' && v.hold ? '+hold' : undefined]
        .filter((x) => x !== undefined)
        .join(' ');
    case 'hold':
    case 'discard':
      return `${v.kind}: ${v.reason}`;
    case 'recipients':
      return `recipients(${Object.entries(v.outcomes)
        .map(([a, o]) => `${a}=${o.kind}`)
        .join(', ')})`;
    default:
      return v.kind;
  }
}
