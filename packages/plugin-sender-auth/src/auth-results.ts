/**
 * auth-results.ts — read the SPF result our own MX already wrote.
 *
 * RFC 8601 §2.2: `Authentication-Results: authserv-id [version]; method=result
 * [reason=...] ptype.property=value ...`, results separated by ";", comments
 * in parentheses anywhere. Only headers whose authserv-id the operator lists
 * are believed (§5: anyone can write the field; only a site's own border MTA,
 * which removes forged copies carrying its id, is to be trusted), and only the
 * topmost of those, which was added last. This module parses and picks; it
 * does not decide what the result means for the sender.
 */

/** The SPF part of one trusted Authentication-Results header. */
export interface AuthResultsSpf {
  readonly authservId: string;
  /** RFC 8601 §2.7.2 result keyword, lower-cased. */
  readonly result: string;
  /** `smtp.mailfrom` as written, if present. */
  readonly mailfrom?: string;
  /** `smtp.helo` as written, if present. */
  readonly helo?: string;
}

/** Removes RFC 5322 comments (nested parentheses, backslash escapes) and keeps quoted strings intact. */
export function stripComments(text: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (ch === '\\') {
      if (depth === 0) out += ch + (text[i + 1] ?? '');
      i++;
      continue;
    }
    if (quoted) {
      out += ch;
      if (ch === '"') quoted = false;
    } else if (ch === '"' && depth === 0) {
      quoted = true;
      out += ch;
    } else if (ch === '(') {
      depth++;
      out += ' ';
    } else if (ch === ')' && depth > 0) depth--;
    else if (depth === 0) out += ch;
  }
  return out;
}

const unquote = (v: string): string =>
  v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1) : v;

/** Parses one header value into its authserv-id and its spf result, if it has one. */
export function parseAuthResults(
  value: string,
): { authservId: string; spf?: Omit<AuthResultsSpf, 'authservId'> } | undefined {
  const parts = stripComments(value)
    .replace(/\s+/g, ' ')
    .split(';')
    .map((p) => p.trim());
  const authservId = parts[0]?.split(' ')[0]?.toLowerCase();
  if (!authservId) return undefined;
  for (const part of parts.slice(1)) {
    const m = /^spf\s*=\s*([a-z]+)\b(.*)$/i.exec(part);
    if (!m) continue;
    const props = m[2] ?? '';
    const mailfrom = /\bsmtp\.mailfrom\s*=\s*("[^"]*"|\S+)/i.exec(props)?.[1];
    const helo = /\bsmtp\.helo\s*=\s*("[^"]*"|\S+)/i.exec(props)?.[1];
    return {
      authservId,
      spf: {
        result: (m[1] ?? '').toLowerCase(),
        ...(mailfrom === undefined ? {} : { mailfrom: unquote(mailfrom) }),
        ...(helo === undefined ? {} : { helo: unquote(helo) }),
      },
    };
  }
  return { authservId };
}

/**
 * The SPF result of the topmost Authentication-Results header whose
 * authserv-id is trusted, or undefined when there is none or it has no spf=.
 *
 * @example
 * trustedSpf(['mx.example.net; spf=pass smtp.mailfrom=a@example.org'], ['mx.example.net']);
 * // { authservId: 'mx.example.net', result: 'pass', mailfrom: 'a@example.org' }
 */
export function trustedSpf(
  values: readonly string[],
  trusted: readonly string[],
): AuthResultsSpf | undefined {
  if (!trusted.length) return undefined;
  for (const value of values) {
    const parsed = parseAuthResults(value);
    if (!parsed || !trusted.includes(parsed.authservId)) continue;
    return parsed.spf ? { authservId: parsed.authservId, ...parsed.spf } : undefined;
  }
  return undefined;
}
