/**
 * notices/qp.ts — quoted-printable encoding of a text body (RFC 2045 §6.7).
 *
 * Text in, 7-bit CRLF lines out: every line break of the input (CRLF, LF or
 * a lone CR) becomes CRLF, each line's UTF-8 bytes are encoded, and a line
 * longer than 76 characters is split with soft breaks (`=` CRLF). It escapes
 * `=`, every byte outside printable ASCII, and a space or tab at the end of a
 * line (rule 3: transports may strip trailing white space). A "From " at the
 * start of a line is written `=46rom ` so that mbox storage cannot mangle it
 * (RFC 2049 §3, item 8).
 *
 * It does not dot-stuff: a line starting with "." stays as it is, because
 * SMTP transparency (RFC 5321 §4.5.2) is the job of whoever sends the bytes.
 * It does not decode either; the tests carry a strict decoder.
 */

/** The longest encoded line, not counting CRLF (RFC 2045 §6.7, rule 5). */
export const QP_LINE_MAX = 76;

const HEX = '0123456789ABCDEF';

/** `=XX` for one byte, upper-case hex as RFC 2045 requires. */
function escapeByte(b: number): string {
  return `=${HEX[b >> 4] ?? '0'}${HEX[b & 15] ?? '0'}`;
}

/** True for a byte that may stand for itself: printable ASCII except `=` (rule 2). */
function isLiteral(b: number): boolean {
  return b >= 33 && b <= 126 && b !== 61;
}

/** The encoded units of one line (no line break), each one byte's worth. */
function lineUnits(line: string): string[] {
  const bytes = Buffer.from(line, 'utf8');
  const units: string[] = [];
  const mboxFrom = line.startsWith('From ');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    const last = i === bytes.length - 1;
    if ((isLiteral(b) && !(mboxFrom && i === 0)) || ((b === 32 || b === 9) && !last)) {
      units.push(String.fromCharCode(b));
    } else {
      units.push(escapeByte(b));
    }
  }
  return units;
}

/**
 * Splits one line's units into encoded lines of at most 76 characters: every
 * piece but the last ends in a soft break `=`, so it holds at most 75.
 */
function wrapUnits(units: readonly string[]): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < units.length; i++) {
    const u = units[i] ?? '';
    const isLast = i === units.length - 1;
    const limit = isLast ? QP_LINE_MAX : QP_LINE_MAX - 1;
    if (cur.length + u.length > limit) {
      out.push(`${cur}=`);
      cur = '';
    }
    cur += u;
  }
  out.push(cur);
  return out;
}

/**
 * Encodes text as quoted-printable with CRLF line ends. The result ends in
 * CRLF exactly when the input ends in a line break.
 *
 * @example
 * encodeQuotedPrintable('café = 1 \n') // 'caf=C3=A9 =3D 1=20\r\n'
 */
export function encodeQuotedPrintable(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => wrapUnits(lineUnits(line)).join('\r\n'))
    .join('\r\n');
}
