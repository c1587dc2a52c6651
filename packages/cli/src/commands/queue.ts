/**
 * commands/queue.ts — `smarthold queue list` (alias `mailq`), `queue show`,
 * `flush`, `delete`, `hold`, `release`, and `explain`.
 *
 * Reads and writes the queue store directly (SQLite in WAL mode allows it
 * while smarthold runs; a busy database waits 5 s, then exits 75), so they
 * work against a running or a stopped instance: a running one claims what
 * `flush` or `release` made due on its next poll. Each change prints what it
 * did. --json prints JSON Lines with postqueue -j's field names.
 */
import {
  defaultConfigPath,
  explainText,
  isQueueId,
  loadConfig,
  openStore,
  type MessageDetail,
  type MessageRecord,
  type RecipientState,
} from '@smarthold/core';
import { EX } from '../exit.js';
import { isBusy, quietOnClosedPipe } from '../output.js';

const PENDING: readonly RecipientState[] = ['active', 'deferred', 'hold'];

/** One message in postqueue -j form. */
export function postqueueJson(m: MessageRecord): Record<string, unknown> {
  const pending = m.recipients.filter((r) => PENDING.includes(r.state));
  const queueName = pending.some((r) => r.state === 'hold')
    ? 'hold'
    : pending.some((r) => r.state === 'deferred')
      ? 'deferred'
      : 'active';
  return {
    queue_name: queueName,
    queue_id: m.queue_id,
    arrival_time: Math.floor(m.arrival_time / 1000),
    message_size: m.message_size,
    sender: m.sender,
    recipients: pending.map((r) => ({
      address: r.address,
      ...(r.delay_reason ? { delay_reason: r.delay_reason } : {}),
      state: r.state,
    })),
  };
}

type Opened = Awaited<ReturnType<typeof openStore>>;

async function withStore<T>(configFile: string | undefined, fn: (s: Opened) => Promise<T>): Promise<T> {
  const { config } = loadConfig(configFile ?? defaultConfigPath());
  const s = await openStore(config);
  try {
    return await fn(s);
  } finally {
    await s.store.close();
  }
}

/** Runs a command against the store; a busy or locked database exits 75 (EX_TEMPFAIL) so scripts retry. */
async function storeCommand(
  configFile: string | undefined,
  fn: (s: Opened) => Promise<number>,
): Promise<number> {
  try {
    return await withStore(configFile, fn);
  } catch (err) {
    if (!isBusy(err)) throw err;
    process.stderr.write(
      `smarthold: the queue database is busy (${err instanceof Error ? err.message : String(err)}); try again\n`,
    );
    return EX.TEMPFAIL;
  }
}

function badId(id: string): boolean {
  if (isQueueId(id)) return false;
  process.stderr.write(`smarthold: "${id}" is not a queue id\n`);
  return true;
}

function noSuchMessage(id: string): number {
  process.stderr.write(`smarthold: no message ${id} in the queue store\n`);
  return EX.NOINPUT;
}

export async function list(opts: { config?: string; json?: boolean }): Promise<number> {
  quietOnClosedPipe();
  let msgs: MessageRecord[] = [];
  const code = await storeCommand(opts.config, async (s) => {
    msgs = await s.store.list();
    return EX.OK;
  });
  if (code !== EX.OK) return code;
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
    process.stdout.write(
      `${m.queue_id}${mark} ${String(m.message_size).padStart(8)} ${new Date(m.arrival_time).toISOString().slice(0, 19)}  <${m.sender}>\n`,
    );
    for (const r of m.recipients.filter((x) => PENDING.includes(x.state))) {
      if (r.delay_reason) process.stdout.write(`${' '.repeat(48)}(${r.delay_reason})\n`);
      process.stdout.write(`${' '.repeat(48)}<${r.address}> [${r.state}]\n`);
    }
  }
  process.stdout.write(`-- ${msgs.length} message(s)\n`);
  return EX.OK;
}

export async function explain(id: string, opts: { config?: string; json?: boolean }): Promise<number> {
  quietOnClosedPipe();
  if (badId(id)) return EX.USAGE;
  return storeCommand(opts.config, async (s) => {
    const m = await s.store.get(id);
    if (!m) return noSuchMessage(id);
    process.stdout.write((opts.json ? JSON.stringify(m, null, 2) : explainText(m)) + '\n');
    return EX.OK;
  });
}

const isoOrNow = (ms: number, now: number): string =>
  ms <= now ? 'now' : `${new Date(ms).toISOString()} (in ${Math.ceil((ms - now) / 1000)} s)`;

/** What waits for what: the part of `queue show` that explain leaves out. */
function scheduleText(m: MessageDetail, now: number): string {
  const out = ['', 'schedule:'];
  const pending = m.recipients.filter((r) => PENDING.includes(r.state));
  if (!pending.length) out.push('  (nothing pending: every recipient has a final state)');
  for (const r of pending) {
    const when =
      r.state === 'hold'
        ? `on hold until \`smarthold queue release ${m.queue_id}\``
        : `next attempt ${isoOrNow(r.next_attempt_at, now)}${r.attempts ? ` after ${r.attempts} attempt(s)` : ''}`;
    out.push(`  <${r.address}>  ${r.state}  ${when}`);
  }
  return out.join('\n');
}

/** `queue show ID`: envelope, recipients (state, attempts, last reply, relay, dsn), the trace, and when each pending recipient is tried next. */
export async function showMessage(id: string, opts: { config?: string; json?: boolean }): Promise<number> {
  quietOnClosedPipe();
  if (badId(id)) return EX.USAGE;
  return storeCommand(opts.config, async (s) => {
    const m = await s.store.get(id);
    if (!m) return noSuchMessage(id);
    const now = Date.now();
    if (opts.json)
      process.stdout.write(
        JSON.stringify({ ...m, queue_name: postqueueJson(m)['queue_name'] }, null, 2) + '\n',
      );
    else process.stdout.write(explainText(m) + '\n' + scheduleText(m, now) + '\n');
    return EX.OK;
  });
}

/** `queue flush [ID]`: deferred recipients become due now. */
export async function flush(id: string | undefined, opts: { config?: string }): Promise<number> {
  if (id !== undefined && badId(id)) return EX.USAGE;
  return storeCommand(opts.config, async (s) => {
    if (id !== undefined && !(await s.store.get(id))) return noSuchMessage(id);
    const n = await s.store.flush(id, Date.now());
    const what = id ?? 'the queue';
    process.stdout.write(
      n
        ? `${n} deferred recipient(s) of ${what} made due now; a running smarthold tries them within its poll interval\n`
        : `no deferred recipient of ${what} was waiting for a later attempt\n`,
    );
    return EX.OK;
  });
}

/** `queue delete ID|ALL`: removes the message records and the spool body. */
export async function remove(target: string, opts: { config?: string }): Promise<number> {
  if (target !== 'ALL' && !isQueueId(target)) {
    process.stderr.write(
      `smarthold: "${target}" is not a queue id; give one, or the word ALL (in capitals) for every queued message\n`,
    );
    return EX.USAGE;
  }
  return storeCommand(opts.config, async (s) => {
    const ids = target === 'ALL' ? await s.store.pendingIds() : [target];
    let deleted = 0;
    for (const id of ids) {
      const r = await s.store.remove(id, Date.now());
      if (!r) {
        if (target === 'ALL') continue;
        return noSuchMessage(id);
      }
      deleted++;
      // A delivery in flight still reads the body: the scheduler removes it when the attempt ends (the
      // message has no pending recipient left), or start-up does if that process is gone.
      if (!r.inFlight) await s.spool.remove(id);
      process.stdout.write(
        `${id}: deleted (${r.recipients} recipient(s), ${r.pending} pending)` +
          (r.inFlight
            ? '; a delivery attempt was in flight: it completes, then its spool body is removed\n'
            : '\n'),
      );
    }
    if (target === 'ALL') process.stdout.write(`${deleted} message(s) deleted\n`);
    return EX.OK;
  });
}

async function moveCommand(
  id: string,
  opts: { config?: string },
  from: RecipientState[],
  to: RecipientState,
  done: string,
  none: string,
): Promise<number> {
  if (badId(id)) return EX.USAGE;
  return storeCommand(opts.config, async (s) => {
    const n = await s.store.move(id, from, to, Date.now());
    if (!n && !(await s.store.get(id))) return noSuchMessage(id);
    process.stdout.write(n ? `${n} recipient(s) of ${id} ${done}\n` : `${id} has no recipient ${none}\n`);
    return EX.OK;
  });
}

/** `queue hold ID`: active and deferred recipients go on hold (not delivered until released). */
export function hold(id: string, opts: { config?: string }): Promise<number> {
  return moveCommand(id, opts, ['active', 'deferred'], 'hold', 'moved to hold', 'active or deferred to hold');
}

/** `queue release ID`: held recipients become active and due now. */
export function release(id: string, opts: { config?: string }): Promise<number> {
  return moveCommand(id, opts, ['hold'], 'active', 'released (active, due now)', 'on hold');
}
