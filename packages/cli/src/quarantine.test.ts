// The quarantine tool as an operator uses it: `smarthold quarantine ...` against a running instance
// (sender-auth, bayes, quarantine) whose next hop is a capture sink.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { type CapturedMessage, GTUBE, sendMail, startCaptureSink } from '@smarthold/core';
import type { HeldMessage, RecipientPrefs, SenderPrefs } from '@smarthold/plugin-quarantine';
import { parsePrefChange } from './commands/quarantine.js';
import { MAIN, cleanup, cli, startProcess, tmp } from './test-process.js';

after(cleanup);

const PUBLIC = 'https://quarantine.example.net';

/** sender-auth, bayes and the quarantine (the default plugins), relaying to 127.0.0.1:relayPort. */
function config(dir: string, relayPort: number): string {
  const file = path.join(dir, 'smarthold.toml');
  writeFileSync(
    file,
    `plugins = ["sender-auth", "bayes", "quarantine"]\n` +
      `[smtp]\nlisten = ["127.0.0.1:0"]\nhostname = "smarthold.test"\n` +
      `[http]\nlisten = "127.0.0.1:0"\npublic_url = "${PUBLIC}"\n` +
      `[delivery]\nretry_min = "200ms"\nretry_max = "500ms"\npoll_interval = "100ms"\n` +
      `[delivery.relay]\nhost = "127.0.0.1"\nport = ${relayPort}\ntls = "none"\n` +
      `[plugin.sender-auth]\nour_domains = ["example.net"]\nfilter_domains = ["aol.com"]\n`,
  );
  return file;
}

let n = 0;
/** A GTUBE message with a dot-stuffed line, so byte-identity covers the transparency rule too. */
function spam(subject: string): string {
  n++;
  return (
    `From: A <a@example.net>\r\nTo: b@aol.com, c@example.org\r\nSubject: ${subject}\r\n` +
    `Date: Mon, 5 Jan 2026 10:00:00 +0000\r\nMessage-ID: <q${n}.${process.pid}@example.net>\r\n\r\n` +
    `Cheap pills.\r\n${GTUBE}\r\n.a line with a leading dot\r\n`
  );
}

function ok(args: string[], dir: string): string {
  const r = cli(args, dir);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** `quarantine list --json`: JSON Lines, each line one object that parses on its own. */
function listJson(file: string, dir: string, ...more: string[]): HeldMessage[] {
  const text = ok(['quarantine', 'list', '--json', ...more, '-c', file], dir);
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), 'every line ends in a newline');
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      const h = JSON.parse(line) as HeldMessage;
      assert.equal(typeof h, 'object');
      assert.ok(!Array.isArray(h), 'an object per line, not an array');
      return h;
    });
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

const pause = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

/** Messages the sink got that carry a queue id in smarthold's Received line. */
const copiesOf = (messages: readonly CapturedMessage[], id: string): CapturedMessage[] =>
  messages.filter((m) => m.raw.toString('latin1').includes(` id ${id}`));

/** The sink's copy without the one Received line smarthold adds at the top. */
function withoutOurReceived(raw: Buffer, id: string): string {
  const text = raw.toString('latin1');
  const received = /^Received: [^\r]*\r\n(?:[ \t][^\r]*\r\n)*/.exec(text)?.[0] ?? '';
  assert.match(received, new RegExp(`by smarthold\\.test \\(smarthold\\) with ESMTP id ${id}`));
  return text.slice(received.length);
}

/**
 * Sends a GTUBE message from a@example.net to b@aol.com and c@example.org and returns its record. The
 * first one from a sender gets 552 with the release URL; later ones within sender_interval are held silently.
 */
async function sendSpam(
  port: number,
  file: string,
  dir: string,
  raw: string,
  code: 552 | 250,
): Promise<HeldMessage> {
  const before = new Set(listJson(file, dir).map((h) => h.queueId));
  const r = await sendMail(port, 'a@example.net', ['b@aol.com', 'c@example.org'], raw);
  assert.equal(r.code, code, r.text);
  if (code === 552) assert.match(r.text, new RegExp(`${PUBLIC.replace(/\./g, '\\.')}/q/m/[A-Za-z0-9_-]{22}`));
  const held = listJson(file, dir).filter((h) => !before.has(h.queueId));
  assert.equal(held.length, 1, JSON.stringify(held));
  return held[0] as HeldMessage;
}

/** Runs `smarthold quarantine list --json -c FILE | TAIL` in bash with pipefail. */
function piped(file: string, tail: string): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(
    'bash',
    ['-c', `set -o pipefail; "${process.execPath}" "${MAIN}" quarantine list --json -c "${file}" | ${tail}`],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('smarthold quarantine', () => {
  test('against a running instance: list, show, release (once), delete, prefs, link, rotate', async () => {
    const dir = tmp();
    const sink = await startCaptureSink(0);
    const file = config(dir, sink.port);
    const p = await startProcess(file);
    try {
      const raw = spam('first');
      const a = await sendSpam(p.smtpPort, file, dir, raw, 552);
      const id = a.queueId;
      assert.equal(a.state, 'held');
      assert.equal(a.sender, 'a@example.net');
      assert.deepEqual(a.recipients, ['b@aol.com', 'c@example.org']);
      assert.equal(a.subject, 'first');
      assert.ok(
        a.rules.some((r) => /GTUBE/i.test(r)),
        JSON.stringify(a.rules),
      );
      assert.deepEqual(
        listJson(file, dir, '--recipient', 'B@AOL.COM').map((h) => h.queueId),
        [id],
      );
      assert.deepEqual(listJson(file, dir, '--sender', 'nobody@example.net'), []);

      const table = ok(['quarantine', 'list', '-c', file], dir);
      assert.match(
        table,
        new RegExp(
          `^${id}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d held\\s+[\\d.]+\\s+a@example\\.net\\s+b@aol\\.com, c@example\\.org\\s+first$`,
          'm',
        ),
      );
      assert.match(table, /^-- 1 message\(s\)$/m);
      const head = piped(file, 'head -1');
      assert.equal(head.status, 0, head.stderr);
      assert.equal(head.stderr, '');
      assert.deepEqual(JSON.parse(head.stdout) as HeldMessage, a, 'the first line alone is a whole record');
      const closed = piped(file, 'true');
      assert.equal(closed.status, 0, closed.stderr);
      assert.equal(closed.stderr, '');

      const shown = ok(['quarantine', 'show', id, '-c', file], dir);
      assert.match(shown, new RegExp(`queue_id:\\s+${id}`));
      assert.match(shown, /state:\s+held/);
      assert.match(shown, new RegExp(`why held:\\s+${a.reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.ok(a.reason.length > 0);
      assert.match(shown, /recipients:\s+b@aol\.com \(hold\), c@example\.org \(hold\)/);
      assert.match(shown, /sender told:\s+yes/);
      assert.match(shown, /headers:\nReceived: from .*\sby smarthold\.test/s);
      assert.match(shown, /\nSubject: first\n/);
      assert.doesNotMatch(shown, /Cheap pills/, 'the header block only');
      const shownJson = JSON.parse(
        ok(['quarantine', 'show', id, '--json', '-c', file], dir),
      ) as HeldMessage & {
        headers: string;
        queue: Record<string, string>;
      };
      assert.equal(shownJson.reason, a.reason);
      assert.deepEqual(shownJson.queue, { 'b@aol.com': 'hold', 'c@example.org': 'hold' });
      assert.match(shownJson.headers, /\r\nMessage-ID: <q\d+\.\d+@example\.net>$/);

      assert.equal(copiesOf(sink.messages, id).length, 0, 'held: nothing sent');
      const released = cli(['quarantine', 'release', id, '-c', file], dir);
      assert.equal(released.status, 0, released.stderr);
      assert.equal(released.stdout, `${id}: released to 2 recipient(s); delivered on the next queue poll\n`);
      // The operator confirmed it: a copy for the scanners to learn "ham" from, where the instance's learn job looks.
      assert.ok(existsSync(path.join(dir, 'var', 'plugins', 'quarantine', 'learn', `ham.${id}.eml`)));
      await until('the released message at the sink', () => copiesOf(sink.messages, id).length > 0);
      const [copy] = copiesOf(sink.messages, id);
      assert.ok(copy);
      assert.equal(copy.from, 'a@example.net');
      assert.deepEqual([...copy.to].sort(), ['b@aol.com', 'c@example.org']);
      assert.equal(withoutOurReceived(copy.raw, id), raw, 'the bytes sent, plus our one Received line');
      assert.equal(listJson(file, dir, '--state', 'released')[0]?.queueId, id);
      assert.deepEqual(listJson(file, dir), []);

      const again = cli(['quarantine', 'release', id, '-c', file], dir);
      assert.equal(again.status, 1);
      assert.equal(again.stdout, '');
      assert.equal(again.stderr, `smarthold: ${id}: not held (state: released)\n`);
      await pause(500);
      assert.equal(copiesOf(sink.messages, id).length, 1, 'a second release delivers nothing');

      const b = await sendSpam(p.smtpPort, file, dir, spam('second'), 250);
      const del = cli(['quarantine', 'delete', b.queueId, '-c', file], dir);
      assert.equal(del.status, 0, del.stderr);
      assert.equal(del.stdout, `${b.queueId}: discarded (not delivered, body removed)\n`);
      assert.equal(
        listJson(file, dir, '--state', 'any').find((h) => h.queueId === b.queueId)?.state,
        'discarded',
      );
      const delAgain = cli(['quarantine', 'delete', b.queueId, '-c', file], dir);
      assert.equal(delAgain.status, 1);
      assert.match(delAgain.stderr, /not held \(state: discarded\)/);
      // Nothing of it is left in the queue, and the instance sends nothing of it.
      assert.doesNotMatch(ok(['queue', 'list', '--json', '-c', file], dir), new RegExp(b.queueId));
      await pause(500);
      assert.equal(copiesOf(sink.messages, b.queueId).length, 0);
      // One id held, one not: something was released, so 0; the other is reported.
      const c = await sendSpam(p.smtpPort, file, dir, spam('third'), 250);
      const mixed = cli(['quarantine', 'release', b.queueId, c.queueId, '-c', file], dir);
      assert.equal(mixed.status, 0, mixed.stderr);
      assert.match(mixed.stdout, new RegExp(`^${c.queueId}: released to 2 recipient\\(s\\)`));
      assert.equal(mixed.stderr, `smarthold: ${b.queueId}: not held (state: discarded)\n`);
      await until('the third message at the sink', () => copiesOf(sink.messages, c.queueId).length > 0);

      type Prefs = {
        sender: SenderPrefs;
        recipient: RecipientPrefs;
        unsubscribed: { address: string; at: number; via: string } | null;
      };
      const set = JSON.parse(
        ok(
          [
            'quarantine',
            'prefs',
            'a@example.net',
            '--set',
            'sender.action=bounce',
            '--set',
            'sender.renotify_days=3',
            '--json',
            '-c',
            file,
          ],
          dir,
        ),
      ) as Prefs;
      assert.equal(set.sender.action, 'bounce');
      assert.equal(set.sender.renotifyDays, 3);
      const read = JSON.parse(
        ok(['quarantine', 'prefs', 'A@example.net', '--json', '-c', file], dir),
      ) as Prefs;
      assert.deepEqual(read, set);
      assert.match(
        ok(['quarantine', 'prefs', 'a@example.net', '-c', file], dir),
        /^sender a@example\.net\n  action\s+bounce\n  renotify_days\s+3\n/,
      );
      const def = JSON.parse(
        ok(
          [
            'quarantine',
            'prefs',
            'a@example.net',
            '--set',
            'sender.renotify_days=default',
            '--json',
            '-c',
            file,
          ],
          dir,
        ),
      ) as Prefs;
      assert.equal(def.sender.renotifyDays, null);
      assert.equal(def.sender.action, 'bounce');
      const redirected = JSON.parse(
        ok(
          [
            'quarantine',
            'prefs',
            'b@aol.com',
            '--set',
            'recipient.redirect=b@example.org',
            '--json',
            '-c',
            file,
          ],
          dir,
        ),
      ) as Prefs;
      assert.equal(redirected.recipient.action, 'redirect');
      assert.equal(redirected.recipient.redirectTo, 'b@example.org');
      assert.match(
        ok(['quarantine', 'prefs', 'b@aol.com', '-c', file], dir),
        /action\s+redirect to b@example\.org/,
      );
      const back = JSON.parse(
        ok(['quarantine', 'prefs', 'b@aol.com', '--set', 'recipient.redirect=', '--json', '-c', file], dir),
      ) as Prefs;
      assert.equal(back.recipient.action, 'hold');
      assert.equal(
        (
          JSON.parse(
            ok(
              ['quarantine', 'prefs', 'b@aol.com', '--set', 'recipient.action=drop', '--json', '-c', file],
              dir,
            ),
          ) as Prefs
        ).recipient.action,
        'drop',
      );

      // The way back for an address that unsubscribed from mail pages send on request (and the way there).
      assert.equal(set.unsubscribed, null);
      const stopped = JSON.parse(
        ok(['quarantine', 'prefs', 'a@example.net', '--set', 'unsubscribed=yes', '--json', '-c', file], dir),
      ) as Prefs;
      assert.equal(stopped.unsubscribed?.address, 'a@example.net');
      assert.equal(stopped.unsubscribed.via, 'operator');
      assert.match(
        ok(['quarantine', 'prefs', 'a@example.net', '-c', file], dir),
        /^unsubscribed from mail pages send on request: yes, since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(operator\)$/m,
      );
      const allowed = JSON.parse(
        ok(['quarantine', 'prefs', 'a@example.net', '--set', 'unsubscribed=no', '--json', '-c', file], dir),
      ) as Prefs;
      assert.equal(allowed.unsubscribed, null);
      assert.match(
        ok(['quarantine', 'prefs', 'a@example.net', '-c', file], dir),
        /^unsubscribed from mail pages send on request: no$/m,
      );

      const badKey = cli(
        ['quarantine', 'prefs', 'a@example.net', '--set', 'sender.colour=blue', '-c', file],
        dir,
      );
      assert.equal(badKey.status, 1);
      assert.match(
        badKey.stderr,
        /unknown key "sender\.colour"; valid: sender\.action=quarantine\|discard\|bounce, /,
      );
      const badValue = cli(
        ['quarantine', 'prefs', 'a@example.net', '--set', 'sender.action=maybe', '-c', file],
        dir,
      );
      assert.equal(badValue.status, 1);
      assert.match(badValue.stderr, /sender\.action is one of quarantine, discard, bounce/);
      const filtered = cli(
        [
          'quarantine',
          'prefs',
          'a@example.net',
          '--set',
          'sender.action=discard',
          '--set',
          'recipient.redirect=a@aol.com',
          '-c',
          file,
        ],
        dir,
      );
      assert.equal(filtered.status, 1);
      assert.match(filtered.stderr, /aol\.com has the same blacklisting policy/);
      assert.equal(
        (JSON.parse(ok(['quarantine', 'prefs', 'a@example.net', '--json', '-c', file], dir)) as Prefs).sender
          .action,
        'bounce',
        'a refused --set changes nothing',
      );

      const first = ok(['quarantine', 'link', 'sender', 'a@example.net', '-c', file], dir).trim();
      assert.match(first, new RegExp(`^${PUBLIC.replace(/\./g, '\\.')}/q/s/[A-Za-z0-9_-]{22}$`));
      const rotated = ok(['quarantine', 'rotate', 'sender', 'a@example.net', '-c', file], dir);
      const url = rotated.trim().split('\n').pop() ?? '';
      assert.match(url, /\/q\/s\/[A-Za-z0-9_-]{22}$/);
      assert.notEqual(url, first);
      assert.equal(p.child.exitCode, null, 'still running');
    } finally {
      assert.equal(await p.stop(), 0, p.log.slice(-8).join('\n'));
      await sink.close();
    }
  });

  test('bad input exits 1 with a message', () => {
    const dir = tmp();
    const file = config(dir, 9);
    const cases: [string[], RegExp][] = [
      [['list', '--state', 'bogus'], /Allowed choices are held, released, discarded, expired, any/],
      [['list', '--limit', 'ten'], /--limit must be a whole number/],
      [['list', '--sender', 'not an address'], /--sender "not an address" is not a mail address/],
      [['show', 'nope'], /"nope" is not a queue id/],
      [['show', '0123456789BCDF'], /0123456789BCDF is not in the quarantine/],
      [['release', '0123456789BCDF'], /0123456789BCDF: not in the quarantine/],
      [['release', '0123456789BCDF', 'x'], /not a queue id: "x"/],
      [['delete', '0123456789BCDF'], /0123456789BCDF: not in the quarantine/],
      [['prefs', 'nobody'], /"nobody" is not a mail address/],
      [['prefs', 'a@example.net', '--set', 'recipient.action=redirect'], /set recipient\.redirect=ADDRESS/],
      [['prefs', 'a@example.net', '--set', 'unsubscribed=maybe'], /unsubscribed is yes or no/],
      [['link', 'postmaster', 'a@example.net'], /Allowed choices are sender, recipient/],
    ];
    for (const [args, re] of cases) {
      const r = cli(['quarantine', ...args, '-c', file], dir);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
    assert.equal(ok(['quarantine', 'list', '-c', file], dir), 'Quarantine is empty\n');
    assert.equal(ok(['quarantine', 'list', '--json', '-c', file], dir), '', 'no lines for no messages');
  });

  test('a configuration without the quarantine plugin exits 78', () => {
    const dir = tmp();
    const file = path.join(dir, 'smarthold.toml');
    writeFileSync(file, 'plugins = ["sender-auth"]\n');
    const r = cli(['quarantine', 'list', '-c', file], dir);
    assert.equal(r.status, 78);
    assert.match(r.stderr, /does not load the quarantine plugin/);
  });

  test('--set parsing', () => {
    assert.deepEqual(parsePrefChange('sender.action=discard'), { key: 'sender.action', action: 'discard' });
    assert.deepEqual(parsePrefChange('sender.renotify_days=0'), { key: 'sender.renotify_days', days: 0 });
    assert.deepEqual(parsePrefChange('recipient.redirect='), { key: 'recipient.redirect', to: '' });
    assert.deepEqual(parsePrefChange('unsubscribed=no'), { key: 'unsubscribed', unsubscribed: false });
    assert.throws(() => parsePrefChange('sender.renotify_days=-1'), /whole number from 0 to 3650/);
    assert.throws(() => parsePrefChange('sender.action'), /expected KEY=VALUE/);
    assert.throws(() => parsePrefChange('recipient.redirect=nope'), /"nope" is not a mail address/);
  });
});
