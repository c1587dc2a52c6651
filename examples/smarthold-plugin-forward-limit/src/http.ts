/**
 * http.ts — the body of GET /forward-limit/top: JSON, or a minimal HTML table.
 *
 * Pure rendering; index.ts registers the route. Everything that goes into
 * HTML is escaped (mailbox names come from mail headers: attacker text).
 */
import type { TopEntry } from './counters.js';

/** What the route answers with. */
export interface TopReport {
  readonly now: string;
  readonly window_ms: number;
  readonly window_mode: string;
  readonly max_messages: number;
  readonly top: readonly TopEntry[];
}

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** True when the Accept header asks for HTML ahead of JSON (browsers). */
export function wantsHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((p) => p.split(';')[0]?.trim().toLowerCase());
  const html = types.indexOf('text/html');
  const json = types.indexOf('application/json');
  return html !== -1 && (json === -1 || html < json);
}

/** The HTML page. */
export function renderTopHtml(r: TopReport): string {
  const e = escapeHtml;
  const rows = r.top
    .map(
      (t) =>
        `<tr${t.over ? ' class="over"' : ''}><td>${e(t.mailbox)}</td><td>${t.count}</td><td>${t.previous}</td><td>${t.estimate}</td><td>${t.over ? 'over' : ''}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>forward-limit: top forwarders</title>
<style>table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}tr.over{background:#fdd}</style></head>
<body><h1>Top forwarders</h1>
<p>${e(r.now)}: limit ${r.max_messages} per ${r.window_ms} ms (${e(r.window_mode)} window)</p>
<table><thead><tr><th>mailbox</th><th>this window</th><th>previous window</th><th>counted</th><th></th></tr></thead>
<tbody>
${rows}
</tbody></table></body></html>
`;
}
