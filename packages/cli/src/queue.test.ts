// The queue tool as an admin uses it: `smarthold queue ...` against a running and a stopped instance.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig, openStore, queueIdOf, sendMail, startCaptureSink } from '@smarthold/core';
import { MAIN, cleanup, cli, freePort, startProcess, tmp } from './test-process.js';

after(cleanup);

/** Whether the instance of `file` still keeps a body for `id`: a spool file, or one stored with its records. */
async function bodyKept(file: string, id: string): Promise<boolean> {
  const { store, spool } = await openStore(loadConfig(file).config);
  try {
    return (await spool.size(id)) !== undefined;
  } finally {
    await store.close();
  }
}

/** A config whose next hop is 127.0.0.1:relayPort, retried only after an hour: mail stays deferred until flushed. */
function config(dir: string, relayPort: number): string {
  const file = path.join(dir, 'smarthold.toml');
  writeFileSync(
    file,
    `[smtp]\nlisten = ["127.0.0.1:0"]\nhostname = "smarthold.test"\n[http]\nenabled = false\n` +
      `[delivery]\nretry_min = "1h"\nretry_max = "1h"\npoll_interval = "100ms"\n` +
      `[delivery.relay]\nhost = "127.0.0.1"\nport = ${relayPort}\ntls = "none"\n`,
  );
  return file;
}

interface QueueLine {
  queue_name: string;
  queue_id: string;
  arrival_time: number;
  message_size: number;
  sender: string;
  recipients: { address: string; delay_reason?: string }[];
}

function listJson(file: string, dir: string): QueueLine[] {
  const r = cli(['queue', 'list', '--json', '-c', file], dir);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as QueueLine);
}

async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Waits until every listed message is deferred (its first attempt to the closed port failed). */
async function untilDeferred(file: string, dir: string, ids: string[]): Promise<void> {
  await until(`${ids.join(', ')} deferred`, () => {
    const q = listJson(file, dir);
    return ids.every((id) => q.find((m) => m.queue_id === id)?.queue_name === 'deferred');
  });
}

async function send(port: number, to: string[], subject: string): Promise<string> {
  const r = await sendMail(port, 'a@example.org', to, `Subject: ${subject}\r\n\r\nbody\r\n`);
  assert.equal(r.code, 250, r.text);
  const id = queueIdOf(r);
  assert.ok(id);
  return id;
}

/** Runs `smarthold queue list --json -c FILE | TAIL` in bash with pipefail. */
function piped(file: string, tail: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    'bash',
    ['-c', `set -o pipefail; "${process.execPath}" "${MAIN}" queue list --json -c "${file}" | ${tail}`],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function checkListing(file: string, dir: string, a: string, b: string): void {
  const lines = listJson(file, dir);
  const ma = lines.find((m) => m.queue_id === a);
  assert.ok(ma && lines.some((m) => m.queue_id === b));
  assert.equal(ma.queue_name, 'deferred');
  assert.equal(ma.sender, 'a@example.org');
  assert.equal(typeof ma.arrival_time, 'number');
  assert.ok(ma.message_size > 0);
  assert.deepEqual(
    ma.recipients.map((r) => r.address),
    ['b@example.net', 'c@example.net'],
  );
  assert.match(ma.recipients[0]?.delay_reason ?? '', /connect to 127\.0\.0\.1/);
  const head = piped(file, 'head -1');
  assert.equal(head.status, 0, head.stderr);
  assert.equal(head.stderr, '');
  assert.equal(head.stdout.split('\n').filter(Boolean).length, 1);
  JSON.parse(head.stdout);
  // The reader is gone before smarthold writes: EPIPE, which must end the command quietly.
  const closed = piped(file, 'true');
  assert.equal(closed.status, 0, closed.stderr);
  assert.equal(closed.stderr, '');
}

describe('smarthold queue', () => {
  test('against a running instance: list, show, hold, release, delete, flush', async () => {
    const dir = tmp();
    const relayPort = await freePort();
    const file = config(dir, relayPort);
    const p = await startProcess(file);
    let sink: Awaited<ReturnType<typeof startCaptureSink>> | undefined;
    try {
      const a = await send(p.smtpPort, ['b@example.net', 'c@example.net'], 'A');
      const b = await send(p.smtpPort, ['d@example.net'], 'B');
      await untilDeferred(file, dir, [a, b]);
      checkListing(file, dir, a, b);

      const show = cli(['queue', 'show', a, '-c', file], dir);
      assert.equal(show.status, 0, show.stderr);
      assert.match(show.stdout, new RegExp(`queue_id:\\s+${a}`));
      assert.match(show.stdout, /<b@example\.net>\s+deferred\s+attempts=1/);
      assert.match(show.stdout, /connect to 127\.0\.0\.1/);
      assert.match(show.stdout, /hook calls \(in order\):/);
      assert.match(
        show.stdout,
        /schedule:\n\s+<b@example\.net>\s+deferred\s+next attempt \d{4}-\d\d-\d\dT[\d:.]+Z \(in \d+ s\) after 1 attempt\(s\)/,
      );
      const showJson = JSON.parse(cli(['queue', 'show', a, '--json', '-c', file], dir).stdout) as {
        queue_id: string;
        queue_name: string;
      };
      assert.equal(showJson.queue_id, a);
      assert.equal(showJson.queue_name, 'deferred');

      const held = cli(['queue', 'hold', a, '-c', file], dir);
      assert.equal(held.status, 0, held.stderr);
      assert.equal(held.stdout, `2 recipient(s) of ${a} moved to hold\n`);
      assert.equal(listJson(file, dir).find((m) => m.queue_id === a)?.queue_name, 'hold');
      const released = cli(['queue', 'release', a, '-c', file], dir);
      assert.equal(released.status, 0, released.stderr);
      assert.equal(released.stdout, `2 recipient(s) of ${a} released (active, due now)\n`);
      // Released means due now: the running instance tries again at once (and fails again: nobody listens).
      await until('a second attempt', () =>
        /attempts=2/.test(cli(['queue', 'show', a, '-c', file], dir).stdout),
      );
      await untilDeferred(file, dir, [a]);

      const del = cli(['queue', 'delete', b, '-c', file], dir);
      assert.equal(del.status, 0, del.stderr);
      assert.equal(del.stdout, `${b}: deleted (1 recipient(s), 1 pending)\n`);
      assert.equal(cli(['queue', 'show', b, '-c', file], dir).status, 66);
      assert.equal(await bodyKept(file, b), false);
      assert.equal(await bodyKept(file, a), true);

      sink = await startCaptureSink(relayPort);
      await new Promise((res) => setTimeout(res, 500));
      assert.equal(sink.messages.length, 0, 'deferred for an hour: nothing is sent before the flush');
      const flushed = cli(['queue', 'flush', a, '-c', file], dir);
      assert.equal(flushed.status, 0, flushed.stderr);
      assert.match(flushed.stdout, new RegExp(`^2 deferred recipient\\(s\\) of ${a} made due now`));
      const [m] = await sink.waitFor(1, 10_000);
      assert.deepEqual(m?.to, ['b@example.net', 'c@example.net']);
      await until('the queue to empty', () => listJson(file, dir).length === 0);
      assert.equal(p.child.exitCode, null, 'still running');
    } finally {
      assert.equal(await p.stop(), 0, p.log.slice(-8).join('\n'));
      await sink?.close();
    }
  });

  test('against a stopped instance: the changes take effect when it starts', async () => {
    const dir = tmp();
    const relayPort = await freePort();
    const file = config(dir, relayPort);
    const p = await startProcess(file);
    let a: string, b: string, c: string;
    try {
      a = await send(p.smtpPort, ['b@example.net', 'c@example.net'], 'A');
      b = await send(p.smtpPort, ['d@example.net'], 'B');
      c = await send(p.smtpPort, ['e@example.net'], 'C');
      await untilDeferred(file, dir, [a, b, c]);
    } finally {
      const code = await p.stop();
      assert.equal(code, 0, p.log.slice(-8).join('\n'));
    }
    checkListing(file, dir, a, b);
    assert.match(cli(['mailq', '-c', file], dir).stdout, /-- 3 message\(s\)/);
    assert.match(
      cli(['queue', 'show', a, '-c', file], dir).stdout,
      /<c@example\.net>\s+deferred\s+next attempt \d{4}-/,
    );

    assert.equal(cli(['queue', 'hold', b, '-c', file], dir).stdout, `1 recipient(s) of ${b} moved to hold\n`);
    assert.equal(
      cli(['queue', 'hold', b, '-c', file], dir).stdout,
      `${b} has no recipient active or deferred to hold\n`,
    );
    assert.equal(cli(['queue', 'hold', c, '-c', file], dir).status, 0);
    assert.equal(
      cli(['queue', 'release', c, '-c', file], dir).stdout,
      `1 recipient(s) of ${c} released (active, due now)\n`,
    );
    assert.match(
      cli(['queue', 'show', c, '-c', file], dir).stdout,
      /<e@example\.net>\s+active\s+next attempt now after 1 attempt\(s\)/,
    );
    assert.equal(
      cli(['queue', 'delete', c, '-c', file], dir).stdout,
      `${c}: deleted (1 recipient(s), 1 pending)\n`,
    );
    assert.equal(await bodyKept(file, c), false);
    assert.equal(
      cli(['queue', 'flush', '-c', file], dir).stdout.split(' ')[0],
      '2',
      "A's two deferred recipients; B is on hold",
    );
    const detail = JSON.parse(cli(['queue', 'show', a, '--json', '-c', file], dir).stdout) as {
      recipients: { next_attempt_at: number }[];
    };
    assert.ok(detail.recipients.every((r) => r.next_attempt_at <= Date.now()));

    const sink = await startCaptureSink(relayPort);
    const q = await startProcess(file);
    try {
      const [m] = await sink.waitFor(1, 10_000);
      assert.deepEqual(m?.to, ['b@example.net', 'c@example.net']);
      await until('A to leave the queue', () => !listJson(file, dir).some((x) => x.queue_id === a));
      const left = listJson(file, dir);
      assert.deepEqual(
        left.map((x) => [x.queue_id, x.queue_name]),
        [[b, 'hold']],
      );
    } finally {
      assert.equal(await q.stop(), 0, q.log.slice(-8).join('\n'));
      await sink.close();
    }
    const all = cli(['queue', 'delete', 'ALL', '-c', file], dir);
    assert.equal(all.status, 0, all.stderr);
    assert.equal(all.stdout, `${b}: deleted (1 recipient(s), 1 pending)\n1 message(s) deleted\n`);
    assert.equal(cli(['queue', 'list', '-c', file], dir).stdout, 'Mail queue is empty\n');
    assert.equal(await bodyKept(file, b), false);
  });

  test('deleting a message while its delivery is in flight leaves the instance running', async () => {
    const dir = tmp();
    const sink = await startCaptureSink(0, { dataDelayMs: 4000 });
    const file = config(dir, sink.port);
    const p = await startProcess(file);
    try {
      const id = await send(p.smtpPort, ['b@example.net'], 'in flight');
      await until('the delivery to start', () => sink.attempts.length > 0);
      const del = cli(['queue', 'delete', id, '-c', file], dir);
      assert.equal(del.status, 0, del.stderr);
      assert.match(del.stdout, /a delivery attempt was in flight/);
      await sink.waitFor(1, 10_000);
      await until('the body to go', async () => !(await bodyKept(file, id)));
      assert.equal(cli(['queue', 'show', id, '-c', file], dir).status, 66);
      // The instance still works: a new message is delivered.
      await send(p.smtpPort, ['c@example.net'], 'after');
      await sink.waitFor(2, 10_000);
      assert.equal(p.child.exitCode, null);
    } finally {
      assert.equal(await p.stop(), 0, p.log.slice(-8).join('\n'));
      await sink.close();
    }
  });

  test('usage errors exit 64, a missing message 66', () => {
    const dir = tmp();
    const file = config(dir, 9);
    assert.equal(cli(['queue', 'show', '-c', file], dir).status, 64);
    assert.equal(cli(['queue', 'show', 'nope', '-c', file], dir).status, 64);
    assert.equal(cli(['queue', 'delete', 'all', '-c', file], dir).status, 64);
    assert.equal(cli(['queue', 'frobnicate', '-c', file], dir).status, 64);
    for (const cmd of ['show', 'flush', 'delete', 'hold', 'release']) {
      const r = cli(['queue', cmd, '0123456789BCDF', '-c', file], dir);
      assert.equal(r.status, 66, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, /no message 0123456789BCDF/);
    }
  });

  test('a queue database another process keeps locked exits 75 (EX_TEMPFAIL) after the busy timeout', async () => {
    const dir = tmp();
    const file = config(dir, 9);
    const { store } = await openStore(loadConfig(file).config);
    store.sqlite.exec('BEGIN EXCLUSIVE');
    try {
      const r = cli(['queue', 'flush', '-c', file], dir);
      assert.equal(r.status, 75, r.stderr);
      assert.match(r.stderr, /queue database is busy/);
    } finally {
      store.sqlite.exec('ROLLBACK');
      await store.close();
    }
  });
});
