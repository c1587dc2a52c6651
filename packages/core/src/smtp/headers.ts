/**
 * smtp/headers.ts — the header block of a message, parsed once.
 *
 * RFC 5322 §2.2: a field is a name, a colon and a body; folded lines start
 * with white space (§2.2.3). We keep names as written and values unfolded and
 * undecoded (no RFC 2047 decoding: that is a presentation concern). It does
 * not validate; a line without a colon is skipped.
 */
import type { HeaderField, Headers } from '../plugin/api.js';

/** Parses a header block (bytes up to, not including, the blank line). */
export function parseHeaders(block: Buffer): HeaderField[] {
  const text = block.toString('latin1');
  const fields: HeaderField[] = [];
  let name: string | undefined;
  let value = '';
  const flush = (): void => {
    if (name !== undefined)
      fields.push({ name, value: Buffer.from(value.trim(), 'latin1').toString('utf8') });
    name = undefined;
    value = '';
  };
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    if ((line.startsWith(' ') || line.startsWith('\t')) && name !== undefined) {
      value += ' ' + line.trim();
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    name = line.slice(0, colon).trim();
    value = line.slice(colon + 1);
  }
  flush();
  return fields;
}

/** Wraps parsed fields in the read-only {@link Headers} interface. */
export function headerList(fields: readonly HeaderField[]): Headers {
  return {
    get: (name) => {
      const n = name.toLowerCase();
      return fields.filter((f) => f.name.toLowerCase() === n).map((f) => f.value);
    },
    first: (name) => {
      const n = name.toLowerCase();
      return fields.find((f) => f.name.toLowerCase() === n)?.value;
    },
    all: () => fields,
  };
}
