/**
 * mime/html.ts — HTML to the text a reader sees, plus the links it carries.
 *
 * Scanning needs words and link targets, not a DOM: scripts, styles and
 * comments are dropped (comments are a classic trick to split words, as in
 * `V<!-- -->iagra`), block tags become line breaks, inline tags vanish, and
 * character references are decoded. Markup itself is not reported: the
 * tokenizer deliberately does not learn "this is HTML" (see tokenize.ts).
 * Not a sanitizer and not a renderer.
 */
import { CHUNK_CHARS, type Yielder } from '../yield.js';

/** Visible text and link targets of an HTML document. */
export interface HtmlText {
  readonly text: string;
  /** href/src/action targets, in document order (may repeat). */
  readonly links: string[];
}

const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  trade: '™',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  bull: '•',
  middot: '·',
  euro: '€',
  pound: '£',
  yen: '¥',
  cent: '¢',
  sect: '§',
  deg: '°',
  times: '×',
  eacute: 'é',
  egrave: 'è',
  ecirc: 'ê',
  aacute: 'á',
  agrave: 'à',
  acirc: 'â',
  iacute: 'í',
  oacute: 'ó',
  ocirc: 'ô',
  uacute: 'ú',
  ugrave: 'ù',
  ccedil: 'ç',
  ntilde: 'ñ',
  auml: 'ä',
  ouml: 'ö',
  uuml: 'ü',
  Auml: 'Ä',
  Ouml: 'Ö',
  Uuml: 'Ü',
  szlig: 'ß',
  Eacute: 'É',
  iexcl: '¡',
  iquest: '¿',
  laquo: '«',
  raquo: '»',
  shy: '',
};

/** Decodes character references (`&amp;`, `&#233;`, `&#xE9;`); unknown names are kept as written. */
export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(
    /&(#[xX][0-9a-fA-F]{1,6}|#\d{1,7}|[a-zA-Z][a-zA-Z0-9]{1,31});?/g,
    (all, ref: string) => {
      if (ref.startsWith('#')) {
        const code =
          ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
        if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
          return ' ';
        return String.fromCodePoint(code);
      }
      return NAMED[ref] ?? NAMED[ref.toLowerCase()] ?? all;
    },
  );
}

const BLOCK = new Set([
  'br',
  'p',
  'div',
  'td',
  'th',
  'tr',
  'li',
  'ul',
  'ol',
  'table',
  'tbody',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'hr',
  'title',
  'option',
  'blockquote',
  'pre',
  'center',
  'dd',
  'dt',
  'form',
  'body',
  'head',
  'html',
  'img',
  'input',
  'textarea',
  'select',
  'address',
  'section',
  'article',
  'header',
  'footer',
]);

const LINK_ATTR = /\b(?:href|src|action|background)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi;
const TAG = /<\/?([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>|<![^>]*>|<\?[^>]*>/g;

/**
 * Converts HTML to text. Large documents are processed in slices cut at tag
 * boundaries, with `yielder.tick()` between slices.
 *
 * @example
 * await htmlToText('<p>Hi <a href="http://x.test/">there</a></p>', y) // { text: '\nHi there\n', links: ['http://x.test/'] }
 */
export async function htmlToText(html: string, yielder: Yielder): Promise<HtmlText> {
  const cleaned = html
    .replace(/<!--[\s\S]*?(?:-->|$)/g, '')
    .replace(/<(script|style)\b[^>]*>[\s\S]*?(?:<\/\1\s*>|$)/gi, ' ');
  await yielder.tick();
  const links: string[] = [];
  const out: string[] = [];
  let start = 0;
  while (start < cleaned.length) {
    let end = Math.min(cleaned.length, start + CHUNK_CHARS);
    if (end < cleaned.length) {
      const close = cleaned.indexOf('>', end);
      end = close < 0 ? cleaned.length : close + 1;
    }
    const slice = cleaned.slice(start, end);
    for (const m of slice.matchAll(LINK_ATTR)) {
      const target = m[1] ?? m[2] ?? m[3];
      if (target) links.push(decodeEntities(target.trim()));
    }
    const text = slice.replace(TAG, (_all, name: string | undefined) =>
      name && BLOCK.has(name.toLowerCase()) ? '\n' : '',
    );
    out.push(decodeEntities(text));
    start = end;
    await yielder.tick();
  }
  return { text: out.join(''), links };
}
