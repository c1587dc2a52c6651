/**
 * smtp/reply.ts — the one place where verdicts become SMTP replies.
 *
 * A reply is an Error with `responseCode` (what smtp-server sends) whose
 * message starts with the enhanced status code (RFC 3463) on every line; a
 * multi-line text is joined with "\n" and sent as a multi-line reply by the
 * patched send (smtp/patch.ts). Every line fits in 512 octets (RFC 5321
 * §4.5.3.1.5). It does not decide verdicts.
 */
import type { CommandVerdict, RejectVerdict, TempfailVerdict } from '../plugin/verdict.js';

/** An SMTP reply carried as an error, as smtp-server expects. */
export class SmtpReply extends Error {
  constructor(
    readonly responseCode: number,
    readonly enhanced: string,
    readonly lines: readonly string[],
  ) {
    super(lines.map((l) => `${enhanced} ${l}`).join('\n'));
    this.name = 'SmtpReply';
  }
}

/** The longest text per line: 512 octets minus "NNN-" , the enhanced code, a space and CRLF. */
function maxText(enhanced: string): number {
  return 512 - 4 - enhanced.length - 1 - 2;
}

/** Splits text into reply lines that fit, breaking at spaces where it can. */
export function fitLines(text: string | readonly string[], enhanced: string): string[] {
  const max = maxText(enhanced);
  const out: string[] = [];
  for (const raw of typeof text === 'string' ? text.split('\n') : text) {
    let line = raw.replace(/[\r\n\t]/g, ' ');
    while (Buffer.byteLength(line) > max) {
      let cut = line.lastIndexOf(' ', max);
      if (cut <= 0) cut = max;
      out.push(line.slice(0, cut));
      line = line.slice(cut).trimStart();
    }
    out.push(line);
  }
  return out;
}

/** Builds a reply. */
export function reply(code: number, enhanced: string, text: string | readonly string[]): SmtpReply {
  return new SmtpReply(code, enhanced, fitLines(text, enhanced));
}

/** Defaults per verdict kind and SMTP stage. */
const DEFAULTS = {
  reject: { code: 550, enhanced: '5.7.1', text: 'Message rejected' },
  tempfail: { code: 451, enhanced: '4.3.0', text: 'Temporary local problem, try again later' },
} as const;

/**
 * Turns a reject or tempfail verdict into a reply. A code of the wrong class
 * (a 4xx on reject, a 5xx on tempfail) is corrected to the default, because a
 * plugin must never turn a refusal into an acceptance or the other way round.
 */
export function verdictReply(
  v: RejectVerdict | TempfailVerdict,
  stage?: { code?: number; enhanced?: string },
): SmtpReply {
  const d = DEFAULTS[v.kind];
  const cls = v.kind === 'reject' ? '5' : '4';
  const code =
    v.code !== undefined && String(v.code).startsWith(cls) && v.code >= 400 && v.code < 600
      ? v.code
      : (stage?.code ?? d.code);
  const enhanced = v.enhanced?.startsWith(cls + '.') ? v.enhanced : (stage?.enhanced ?? d.enhanced);
  return reply(code, enhanced, v.text ?? d.text);
}

/**
 * The reply for a command-hook verdict (connect, helo, mail, rcpt), or
 * undefined when the command goes on. `stage` gives a reject's default code.
 */
export function commandReply(
  v: CommandVerdict,
  stage: { code: number; enhanced: string },
): SmtpReply | undefined {
  if (v.kind === 'reject') return verdictReply(v, stage);
  if (v.kind === 'tempfail') return verdictReply(v, { code: 451, enhanced: '4.3.0' });
  return undefined;
}
