/**
 * notices/templates.ts — finding, parsing and rendering the notice templates.
 *
 * A template is `<kind>.liquid`, looked up first in the operator's directory,
 * then in the shipped one; includes (`{% include "footer" %}`) resolve the
 * same way, so an operator can override one partial alone. A file starts with
 * its `Subject:` line (a Liquid expression allowed; continuation lines start
 * with white space), then an empty line, then the body. Both parts are parsed
 * once and cached. Every `{{ output }}` passes through {@link oneLine}: the
 * data come partly from spam (held subjects and senders), so a value can
 * never start a new line, in the Subject or in the body. Text mail: nothing
 * is HTML-escaped.
 *
 * It does not build the message (render.ts and mime.ts do) and does not
 * watch the files: a changed template is read at the next start.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Liquid, type Template } from 'liquidjs';
import { oneLine, rfc5322Date } from './mime.js';

/** A template that is missing, unreadable, malformed or fails to render. */
export class NoticeTemplateError extends Error {
  readonly code = 'SMARTHOLD_QUARANTINE_TEMPLATE' as const;
  /** The template file (or directory) at fault. */
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`notice template ${file}: ${message}`, options);
    this.name = 'NoticeTemplateError';
    this.file = file;
  }
}

/** A parsed template: where it came from, its Subject and its body. */
export interface ParsedTemplate {
  readonly file: string;
  readonly subject: Template[];
  readonly body: Template[];
}

/** A template's rendered parts, the Subject still unencoded. */
export interface RenderedParts {
  readonly subject: string;
  readonly body: string;
}

const EXTNAME = '.liquid';

/** A number of milliseconds since the epoch, or undefined when the value is none. */
function toMs(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

const p2 = (n: number): string => String(n).padStart(2, '0');

/** "2024-05-01" (UTC). */
function isoDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`;
}

/** "2024-05-01 14:03 UTC". */
function dateTime(ms: number): string {
  const d = new Date(ms);
  return `${isoDate(ms)} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())} UTC`;
}

/** "812 bytes", "12 KB", "3.4 MB" (powers of 1024). */
function bytes(n: number): string {
  if (n < 1024) return `${n} ${n === 1 ? 'byte' : 'bytes'}`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** Wraps a ms → text function as a filter that renders nothing for a non-date. */
const dateFilter =
  (f: (ms: number) => string) =>
  (value: unknown): string => {
    const ms = toMs(value);
    return ms === undefined ? '' : f(ms);
  };

/** Text of an output as Liquid writes it (nil → '', arrays joined), made one line; an object has no text. */
function safeOutput(value: unknown): string {
  if (Array.isArray(value)) return value.map(safeOutput).join('');
  if (typeof value === 'string') return oneLine(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return '';
}

/**
 * The Liquid engine for notices: operator directory first, strict filters,
 * own properties only, every output made one line. Filters beyond Liquid's:
 * `maildate` (RFC 5322), `isodate`, `datetime` (UTC), `bytes`, and
 * `plural` (`{{ n | plural: "message", "messages" }}` → "3 messages").
 */
export function createEngine(dirs: readonly string[]): Liquid {
  const liquid = new Liquid({
    root: [...dirs],
    extname: EXTNAME,
    cache: true,
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    outputEscape: safeOutput,
    // Named, so that Liquid does not ask Intl for the system's locale (which maps ~4 MB of ICU data).
    locale: 'en-US',
  });
  liquid.registerFilter('maildate', dateFilter(rfc5322Date));
  liquid.registerFilter('isodate', dateFilter(isoDate));
  liquid.registerFilter('datetime', dateFilter(dateTime));
  liquid.registerFilter('bytes', (v: unknown) => bytes(Number(v) || 0));
  liquid.registerFilter('plural', (v: unknown, one: unknown, many: unknown) => {
    const n = Number(v) || 0;
    return `${n} ${String(n === 1 ? one : many)}`;
  });
  return liquid;
}

/** The first directory holding `<name>.liquid`, as a path; throws when none does. */
export async function locate(dirs: readonly string[], name: string): Promise<string> {
  for (const dir of dirs) {
    const file = path.join(dir, name + EXTNAME);
    try {
      if ((await stat(file)).isFile()) return file;
    } catch {
      // not in this directory: try the next one
    }
  }
  throw new NoticeTemplateError(name + EXTNAME, `not found in ${dirs.join(' or ')}`);
}

/** Throws when the operator's template directory is set but is not a directory (a typo would hide it). */
export async function checkDirectory(dir: string): Promise<void> {
  if (dir === '') return;
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (err) {
    throw new NoticeTemplateError(dir, 'template directory cannot be read', { cause: err });
  }
  if (!isDir) throw new NoticeTemplateError(dir, 'not a directory');
}

/** The source split at the first empty line; line numbers kept by padding so Liquid's errors point right. */
function split(file: string, source: string): { subject: string; body: string } {
  const lines = source.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  if (lines.at(-1) === '') lines.pop(); // the end of the last line, not an empty line
  const blank = lines.findIndex((l) => l.trim() === '');
  if (blank < 0) throw new NoticeTemplateError(file, 'no empty line after the Subject: line');
  const head = lines.slice(0, blank);
  const first = /^Subject:/i.exec(head[0] ?? '');
  if (first === null) throw new NoticeTemplateError(file, 'the first line must be "Subject: ..."');
  const other = head.findIndex((l, i) => i > 0 && !/^[ \t]/.test(l));
  if (other >= 0) {
    throw new NoticeTemplateError(file, `line ${other + 1}: only a Subject: line may precede the empty line`);
  }
  const subject = [' '.repeat(first[0].length) + (head[0] ?? '').slice(first[0].length), ...head.slice(1)];
  return {
    subject: subject.join('\n'),
    body: '\n'.repeat(blank + 1) + lines.slice(blank + 1).join('\n'),
  };
}

/** Reads and parses one template; every failure is a {@link NoticeTemplateError} naming the file. */
export async function parseTemplate(liquid: Liquid, file: string): Promise<ParsedTemplate> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (err) {
    throw new NoticeTemplateError(file, 'cannot be read', { cause: err });
  }
  const parts = split(file, source);
  try {
    return { file, subject: liquid.parse(parts.subject, file), body: liquid.parse(parts.body, file) };
  } catch (err) {
    throw new NoticeTemplateError(file, err instanceof Error ? err.message : String(err), { cause: err });
  }
}

/** The rendered body's text: LF line ends, leading empty lines and trailing white space at the end dropped. */
function tidyBody(text: string): string {
  return `${text
    .replace(/\r\n?/g, '\n')
    .replace(/^(?:[ \t]*\n)+/, '')
    .trimEnd()}\n`;
}

/** Renders a parsed template with the given variables. */
export async function renderTemplate(
  liquid: Liquid,
  t: ParsedTemplate,
  scope: Record<string, unknown>,
): Promise<RenderedParts> {
  try {
    const subject = (await liquid.render(t.subject, scope)) as unknown;
    const body = (await liquid.render(t.body, scope)) as unknown;
    if (typeof subject !== 'string' || typeof body !== 'string') {
      throw new TypeError('rendering did not produce text');
    }
    const line = oneLine(subject).replace(/\s+/g, ' ').trim();
    if (line === '') throw new TypeError('the Subject renders empty');
    return { subject: line, body: tidyBody(body) };
  } catch (err) {
    throw new NoticeTemplateError(t.file, err instanceof Error ? err.message : String(err), { cause: err });
  }
}
