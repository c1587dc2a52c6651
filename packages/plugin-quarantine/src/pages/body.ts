/**
 * pages/body.ts — reading form fields from parsed request bodies.
 *
 * The pages accept two body types: HTML forms (application/x-www-form-urlencoded,
 * parsed by @fastify/formbody) and, for the RFC 8058 one-click POST only,
 * multipart/form-data, which RFC 8058 §3.1 lets mail providers send and which
 * this module parses just far enough to read plain text fields (no files, no
 * nested parts). Fields are read defensively: a parsed body is `unknown`, a
 * repeated field arrives as an array. It does not check CSRF fields (csrf.ts)
 * or decide anything.
 */

/** The first string value of a field (or of a query parameter), or undefined. */
export function field(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const v: unknown = (body as Record<string, unknown>)[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const first: unknown = v[0];
    return typeof first === 'string' ? first : undefined;
  }
  return undefined;
}

/** Every string value of a field (checkboxes), at most `max`. */
export function fields(body: unknown, name: string, max: number): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const v: unknown = (body as Record<string, unknown>)[name];
  const all: unknown[] = Array.isArray(v) ? v : [v];
  return all.filter((x): x is string => typeof x === 'string').slice(0, max);
}

/** True for the RFC 8058 one-click body: the single pair `List-Unsubscribe=One-Click`. */
export function isOneClick(body: unknown): boolean {
  return field(body, 'List-Unsubscribe') === 'One-Click';
}

/** The boundary parameter of a multipart content type (RFC 2046 §5.1.1), or undefined. */
export function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

/** The field name of a part's Content-Disposition (RFC 7578 §4.2), skipping file parts. */
function partName(head: string): string | undefined {
  const disposition = /^content-disposition:\s*form-data\s*;(.*)$/im.exec(head)?.[1];
  if (disposition === undefined || /\bfilename\*?=/i.test(disposition)) return undefined;
  return /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? /\bname=([^\s;]+)/i.exec(disposition)?.[1];
}

/**
 * The plain text fields of a multipart/form-data body (RFC 7578). Enough for
 * one-click unsubscription; a field given twice keeps its first value.
 */
export function parseMultipart(contentType: string, body: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const boundary = boundaryOf(contentType);
  if (boundary === undefined) return out;
  for (const part of body.split(`--${boundary}`).slice(1)) {
    if (part.startsWith('--')) break; // the close delimiter
    const text = part.replace(/^\r?\n/, '');
    const sep = /\r?\n\r?\n/.exec(text);
    if (sep === null) continue;
    const name = partName(text.slice(0, sep.index));
    if (name === undefined || name in out) continue;
    out[name] = text.slice(sep.index + sep[0].length).replace(/\r?\n$/, '');
  }
  return out;
}
