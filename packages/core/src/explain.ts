/**
 * explain.ts — why a message went where it went, as text or JSON.
 *
 * Reads one message's record (envelope, per-recipient state, results and the
 * hook trace) and renders it for `smarthold explain` and `queue show`. It
 * does not query anything itself.
 */
import type { MessageDetail } from './store/types.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** Renders a message's life for a terminal. */
export function explainText(m: MessageDetail): string {
  const out: string[] = [];
  out.push(`queue_id:     ${m.queue_id}`);
  out.push(`arrival_time: ${iso(m.arrival_time)}`);
  out.push(`sender:       <${m.sender}>`);
  out.push(`size:         ${m.message_size}`);
  out.push(
    `client:       ${m.client_address || '(local)'}${m.client_helo ? ` helo=${m.client_helo}` : ''}${m.auth_user ? ` user=${m.auth_user}` : ''}`,
  );
  out.push(`origin:       ${m.origin}`);
  out.push('', 'recipients:');
  for (const r of m.recipients) {
    out.push(
      `  <${r.address}>  ${r.state}${r.attempts ? `  attempts=${r.attempts}` : ''}${r.relay ? `  relay=${r.relay}` : ''}${r.dsn ? `  dsn=${r.dsn}` : ''}`,
    );
    if (r.delay_reason) out.push(`      ${r.delay_reason}`);
  }
  out.push('', 'hook calls (in order):');
  if (!m.trace.length) out.push('  (none: no plugin hooks ran for this message)');
  for (const t of m.trace) {
    const who = `${t.plugin}/${t.hook}`.padEnd(28);
    out.push(
      `  ${who} ${t.verdict.padEnd(24)} ${t.ms.toFixed(3).padStart(9)} ms${t.recipient ? `  rcpt=<${t.recipient}>` : ''}${t.error ? `  error: ${t.error}` : ''}`,
    );
  }
  out.push('', 'results:');
  if (!m.results.length) out.push('  (none)');
  for (const r of m.results) {
    out.push(`  ${r.plugin}.${r.key}${r.recipient ? ` [${r.recipient}]` : ''} = ${JSON.stringify(r.value)}`);
  }
  return out.join('\n');
}
