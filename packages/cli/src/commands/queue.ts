/**
 * commands/queue.ts — `smarthold queue list` (alias `mailq`) and `explain`.
 *
 * Reads the queue store directly (SQLite in WAL mode allows it while
 * smarthold runs), so they work against a running or a stopped instance.
 * --json prints JSON Lines with postqueue -j's field names.
 */
import { defaultConfigPath, explainText, isQueueId, loadConfig, openStore, type MessageRecord } from '@smarthold/core';
import { EX } from '../exit.js';

/** One message in postqueue -j form. */
export function postqueueJson(m: MessageRecord): Record<string, unknown> {
  const pending = m.recipients.filter((r) => r.state === 'active' || r.state === 'deferred' || r.state === 'hold');
  const queueName = pending.some((r) => r.state === 'hold') ? 'hold' : pending.some((r) => r.state === 'deferred') ? 'deferred' : 'active';
  return {
    queue_name: queueName,
    queue_id: m.queue_id,
    arrival_time: Math.floor(m.arrival_time / 1000),
    message_size: m.message_size,
    sender: m.sender,
    recipients: pending.map((r) => ({ address: r.address, ...(r.delay_reason ? { delay_reason: r.delay_reason } : {}), state: r.state })),
  };
}

async function withStore<T>(configFile: string | undefined, fn: (s: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
  const { config } = loadConfig(configFile ?? defaultConfigPath());
  const s = await openStore(config);
  try {
    return await fn(s);
  } finally {
    await s.store.close();
  }
}

export async function list(opts: { config?: string; json?: boolean }): Promise<number> {
  const msgs = await withStore(opts.config, (s) => s.store.list());
  if (opts.json) {
    for (const m of msgs) process.stdout.write(JSON.stringify(postqueueJson(m)) + '\n');
    return EX.OK;
  }
  if (!msgs.length) {
    process.stdout.write('Mail queue is empty\n');
    return EX.OK;
  }
  process.stdout.write('-Queue ID-      --Size-- ----Arrival Time---- -Sender/Recipient-------\n');
  for (const m of msgs) {
    const j = postqueueJson(m);
    const mark = j['queue_name'] === 'hold' ? '!' : j['queue_name'] === 'active' ? '*' : ' ';
    process.stdout.write(`${m.queue_id}${mark} ${String(m.message_size).padStart(8)} ${new Date(m.arrival_time).toISOString().slice(0, 19)}  <${m.sender}>\n`);
    for (const r of m.recipients.filter((x) => ['active', 'deferred', 'hold'].includes(x.state))) {
      if (r.delay_reason) process.stdout.write(`${' '.repeat(48)}(${r.delay_reason})\n`);
      process.stdout.write(`${' '.repeat(48)}<${r.address}> [${r.state}]\n`);
    }
  }
  process.stdout.write(`-- ${msgs.length} message(s)\n`);
  return EX.OK;
}

export async function explain(id: string, opts: { config?: string; json?: boolean }): Promise<number> {
  if (!isQueueId(id)) {
    process.stderr.write(`smarthold: "${id}" is not a queue id\n`);
    return EX.USAGE;
  }
  const m = await withStore(opts.config, (s) => s.store.get(id));
  if (!m) {
    process.stderr.write(`smarthold: no message ${id} in the queue store\n`);
    return EX.NOINPUT;
  }
  process.stdout.write((opts.json ? JSON.stringify(m, null, 2) : explainText(m)) + '\n');
  return EX.OK;
}
