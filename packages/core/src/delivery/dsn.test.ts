// Delivery status notifications: the pure builder, and bounces/delay warnings end to end.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCaptureSink, type CaptureSink, type CapturedMessage } from '../testing/capture-sink.js';
import { startTestSmarthold, type TestSmarthold } from '../testing/harness.js';
import { queueIdOf } from '../testing/smtp-client.js';
import { buildDsn, headerBlockOf, remoteMtaOf, type DsnInput } from './dsn.js';

// ---- a small MIME reader (enough for what buildDsn writes and RFC 3464 fields) ----

interface Entity {
  readonly headers: Map<string, string>;
  readonly body: string;
}

/** Splits header block and body; header names lower-cased, folded lines unfolded. */
function parseEntity(raw: string): Entity {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const body = end < 0 ? '' : raw.slice(end + 4);
  return { headers: parseFields(head), body };
}

function parseFields(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    out.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return out;
}

function param(value: string, name: string): string | undefined {
  const m = new RegExp(`;\\s*${name}=(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value);
  return m?.[1] ?? m?.[2];
}

/** The body parts of a multipart entity (RFC 2046 §5.1.1). */
function splitMultipart(e: Entity): Entity[] {
  const boundary = param(e.headers.get('content-type') ?? '', 'boundary');
  assert.ok(boundary, 'multipart without a boundary');
  const delim = `\r\n--${boundary}`;
  const text = '\r\n' + e.body;
  const close = text.indexOf(`${delim}--`);
  assert.ok(close >= 0, 'no closing delimiter');
  const pieces = text.slice(0, close).split(delim).slice(1);
  return pieces.map((p) => parseEntity(p.replace(/^[ \t]*\r\n/, '')));
}

interface Report {
  readonly top: Entity;
  readonly text: string;
  readonly perMessage: Map<string, string>;
  readonly perRecipient: Map<string, string>[];
  readonly headers: string | undefined;
}

function parseReport(raw: Buffer): Report {
  const top = parseEntity(raw.toString('latin1'));
  const ct = top.headers.get('content-type') ?? '';
  assert.match(ct, /^multipart\/report\s*;/i);
  assert.equal(param(ct, 'report-type')?.toLowerCase(), 'delivery-status');
  const parts = splitMultipart(top);
  assert.ok(parts.length === 2 || parts.length === 3, `parts: ${parts.length}`);
  const [text, status, headers] = parts as [Entity, Entity, Entity | undefined];
  assert.match(text.headers.get('content-type') ?? '', /^text\/plain/i);
  assert.match(status.headers.get('content-type') ?? '', /^message\/delivery-status/i);
  if (headers) assert.match(headers.headers.get('content-type') ?? '', /^text\/rfc822-headers/i);
  const blocks = status.body.split(/\r\n\r\n+/).filter((b) => b.trim());
  const [perMessage, ...perRecipient] = blocks.map(parseFields);
  assert.ok(perMessage);
  return { top, text: text.body, perMessage, perRecipient, headers: headers?.body };
}

function recipientOf(r: Report, address: string): Map<string, string> {
  const f = r.perRecipient.find((x) => x.get('final-recipient')?.toLowerCase() === `rfc822; ${address}`);
  assert.ok(f, `no Final-Recipient for ${address}`);
  return f;
}

// ---- the pure builder ----

const HEADERS = Buffer.from(
  'Received: from x\r\n\tby y\r\nFrom: a@example.org\r\nTo: b@example.net\r\nSubject: hello\r\nMessage-ID: <m1@example.org>\r\n',
);
const NOW = Date.UTC(2026, 10, 23, 8, 0, 0);

function input(over: Partial<DsnInput> = {}): DsnInput {
  return {
    action: 'failed',
    queueId: 'ABC123',
    sender: 'a@example.org',
    arrivalTime: NOW - 60_000,
    recipients: [
      {
        address: 'b@example.net',
        status: '5.1.1',
        reply: '550 5.1.1 <b@example.net>: no such user',
        relay: 'mx.example.net[192.0.2.1]:25',
        lastAttempt: NOW,
      },
    ],
    headers: HEADERS,
    hostname: 'smarthold.test',
    clock: { now: () => NOW },
    messageId: 'fixed@smarthold.test',
    ...over,
  };
}

describe('buildDsn', () => {
  test('a failure report: RFC 3464 fields, headers part, null-sender friendly headers', () => {
    const raw = buildDsn(input());
    const r = parseReport(raw);
    const h = r.top.headers;
    assert.equal(h.get('from'), 'Mail Delivery System <MAILER-DAEMON@smarthold.test>');
    assert.equal(h.get('to'), '<a@example.org>');
    assert.equal(h.get('subject'), 'Undelivered Mail Returned to Sender');
    assert.equal(h.get('auto-submitted'), 'auto-replied');
    assert.equal(h.get('message-id'), '<fixed@smarthold.test>');
    assert.equal(h.get('date'), 'Mon, 23 Nov 2026 08:00:00 +0000');
    assert.equal(h.get('mime-version'), '1.0');
    assert.equal(r.perMessage.get('reporting-mta'), 'dns; smarthold.test');
    assert.equal(r.perMessage.get('x-smarthold-queue-id'), 'ABC123');
    assert.equal(r.perMessage.get('arrival-date'), 'Mon, 23 Nov 2026 07:59:00 +0000');
    const f = recipientOf(r, 'b@example.net');
    assert.equal(f.get('action'), 'failed');
    assert.equal(f.get('status'), '5.1.1');
    assert.equal(f.get('remote-mta'), 'dns; mx.example.net');
    assert.equal(f.get('diagnostic-code'), 'smtp; 550 5.1.1 <b@example.net>: no such user');
    assert.equal(f.get('last-attempt-date'), 'Mon, 23 Nov 2026 08:00:00 +0000');
    assert.match(r.text, /<b@example\.net>: 550 5\.1\.1/);
    assert.equal(r.headers, HEADERS.toString('latin1'));
    // Only CRLF line ends, no line over 998 octets.
    const s = raw.toString('latin1');
    assert.doesNotMatch(s, /[^\r]\n|\r[^\n]/);
    assert.ok(s.split('\r\n').every((l) => l.length <= 998));
  });

  test('deterministic for the same input (boundary from the Message-ID)', () => {
    assert.deepEqual(buildDsn(input()), buildDsn(input()));
  });

  test('configured From, unknown status, our own reason, no relay, no headers', () => {
    const r = parseReport(
      buildDsn(
        input({
          from: 'postmaster@example.org',
          headers: undefined,
          recipients: [
            {
              address: 'c@example.net',
              status: '',
              reply: 'message expired after 3 s in the queue; last reply: 451 4.7.1 later',
              relay: 'none',
              lastAttempt: NOW,
            },
          ],
        }),
      ),
    );
    assert.equal(r.top.headers.get('from'), 'Mail Delivery System <postmaster@example.org>');
    assert.equal(r.headers, undefined);
    const f = recipientOf(r, 'c@example.net');
    assert.equal(f.get('status'), '5.0.0');
    assert.equal(f.get('remote-mta'), undefined);
    assert.equal(
      f.get('diagnostic-code'),
      'X-Smarthold; message expired after 3 s in the queue; last reply: 451 4.7.1 later',
    );
  });

  test('a delay warning: Action delayed, Will-Retry-Until, its own subject', () => {
    const r = parseReport(
      buildDsn(
        input({
          action: 'delayed',
          willRetryUntil: NOW + 86_400_000,
          recipients: [
            {
              address: 'd@example.net',
              status: '4.7.1',
              reply: '451 4.7.1 greylisted',
              relay: '127.0.0.1:2525',
              lastAttempt: NOW,
            },
          ],
        }),
      ),
    );
    assert.equal(r.top.headers.get('subject'), 'Delayed Mail (still being retried)');
    const f = recipientOf(r, 'd@example.net');
    assert.equal(f.get('action'), 'delayed');
    assert.equal(f.get('status'), '4.7.1');
    assert.equal(f.get('will-retry-until'), 'Tue, 24 Nov 2026 08:00:00 +0000');
    assert.equal(f.get('remote-mta'), 'dns; 127.0.0.1');
  });

  test('CR/LF in a reply cannot inject fields', () => {
    const r = parseReport(
      buildDsn(
        input({
          recipients: [
            {
              address: 'e@example.net',
              status: '5.0.0',
              reply: '550 no\r\nAction: delivered',
              relay: '',
              lastAttempt: NOW,
            },
          ],
        }),
      ),
    );
    const f = recipientOf(r, 'e@example.net');
    assert.equal(f.get('action'), 'failed');
    assert.equal(f.get('diagnostic-code'), 'smtp; 550 no Action: delivered');
  });

  test('header block helpers', () => {
    assert.equal(headerBlockOf(Buffer.from('A: 1\r\nB: 2\r\n\r\nbody\r\n')).toString(), 'A: 1\r\nB: 2\r\n');
    assert.equal(headerBlockOf(Buffer.from('A: 1\r\nB: 2 long line\r\n'), 10).toString(), 'A: 1\r\n');
    assert.equal(remoteMtaOf('host.example:25'), 'host.example');
    assert.equal(remoteMtaOf('[::1]:25'), '::1');
    assert.equal(remoteMtaOf('none'), undefined);
  });
});

// ---- end to end, through the queue and a capture sink ----

const MSG =
  'From: a@example.org\r\nTo: x@example.net\r\nSubject: original\r\nMessage-ID: <orig@example.org>\r\n\r\nthe body, which must not be returned\r\n';

/** Waits until the sink holds a message matching `pred`. */
async function waitForMessage(
  sink: CaptureSink,
  pred: (m: CapturedMessage) => boolean,
  timeoutMs = 10_000,
): Promise<CapturedMessage> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = sink.messages.find(pred);
    if (m) return m;
    if (Date.now() > end)
      throw new Error(`no matching message in the sink (${sink.messages.length} captured)`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const reportsFor = (sink: CaptureSink, queueId: string): CapturedMessage[] =>
  sink.messages.filter(
    (m) => m.from === '' && m.raw.toString('latin1').includes(`X-Smarthold-Queue-ID: ${queueId}`),
  );

describe('bounces end to end', () => {
  let sink: CaptureSink;
  let t: TestSmarthold;
  before(async () => {
    t = await startTestSmarthold();
    if (!t.sink) throw new Error('the harness starts a sink');
    sink = t.sink;
  });
  after(() => t.stop());

  test('550 at RCPT for one of two recipients: one DSN from <> to the sender', async () => {
    sink.script = {
      rcpt: (to) => (to === 'nobody@example.net' ? { code: 550, text: '5.1.1 no such user' } : undefined),
    };
    const r = await t.send('a@example.org', ['ok@example.net', 'nobody@example.net'], MSG);
    const id = queueIdOf(r) ?? '';
    await t.waitForState(id, ['delivered', 'bounced']);
    const dsn = await waitForMessage(sink, (m) => m.from === '' && m.raw.includes(id));
    assert.deepEqual(dsn.to, ['a@example.org']);
    const rep = parseReport(dsn.raw);
    assert.equal(rep.perRecipient.length, 1);
    const f = recipientOf(rep, 'nobody@example.net');
    assert.equal(f.get('action'), 'failed');
    assert.equal(f.get('status'), '5.1.1');
    assert.match(f.get('diagnostic-code') ?? '', /^smtp; 550 5\.1\.1 /);
    assert.equal(rep.perMessage.get('reporting-mta'), 'dns; smarthold.test');
    assert.match(rep.headers ?? '', /^Subject: original\r$/m);
    assert.doesNotMatch(dsn.raw.toString('latin1'), /must not be returned/);
    // The original body left the spool once the message was finished.
    assert.equal(await t.app.spool.size(id), undefined);
    // The report is a message of its own, queued with the null sender and delivered.
    const queued = (await t.app.store.list(['active', 'deferred', 'delivered'])).filter(
      (m) => m.origin === 'dsn',
    );
    assert.equal(queued.length, 1);
    assert.equal(queued[0]?.sender, '');
    assert.deepEqual(
      queued[0]?.recipients.map((x) => x.address),
      ['a@example.org'],
    );
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(reportsFor(sink, id).length, 1);
  });

  test('no DSN for a message from the null sender', async () => {
    sink.script = {
      rcpt: (to) => (to === 'gone@example.net' ? { code: 550, text: '5.1.1 no such user' } : undefined),
    };
    const before = sink.messages.length;
    const r = await t.send('', ['gone@example.net'], MSG);
    const id = queueIdOf(r) ?? '';
    await t.waitForState(id, ['bounced']);
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(sink.messages.length, before);
    assert.equal(reportsFor(sink, id).length, 0);
    const queued = await t.app.store.list(['active', 'deferred', 'hold', 'delivered', 'bounced']);
    assert.ok(!queued.some((m) => m.origin === 'dsn' && m.recipients.some((x) => x.address === '')));
  });

  test('5xx after DATA for two recipients: ONE DSN listing both', async () => {
    sink.script = {
      data: (m) => (m.from !== '' ? { code: 554, text: '5.7.1 rejected by policy' } : undefined),
    };
    const r = await t.send('b@example.org', ['x1@example.net', 'x2@example.net'], MSG);
    const id = queueIdOf(r) ?? '';
    await t.waitForState(id, ['bounced']);
    const dsn = await waitForMessage(sink, (m) => m.from === '' && m.raw.includes(id));
    assert.deepEqual(dsn.to, ['b@example.org']);
    const rep = parseReport(dsn.raw);
    assert.equal(rep.perRecipient.length, 2);
    for (const a of ['x1@example.net', 'x2@example.net']) {
      const f = recipientOf(rep, a);
      assert.equal(f.get('action'), 'failed');
      assert.equal(f.get('status'), '5.7.1');
      assert.match(f.get('diagnostic-code') ?? '', /^smtp; 554 5\.7\.1 rejected by policy/);
    }
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(reportsFor(sink, id).length, 1);
  });
});

describe('a spool entry found missing at delivery', () => {
  test('bounces its recipients with a DSN that has no headers part', async () => {
    const sink = await startCaptureSink(0, {
      rcpt: (to) => (to === 'held@example.net' ? { code: 451, text: '4.7.1 not yet' } : undefined),
    });
    const t = await startTestSmarthold({
      sink,
      config: { delivery: { retry_min: '300ms', retry_max: '300ms' } },
    });
    try {
      const r = await t.send('e@example.org', ['held@example.net'], MSG);
      const id = queueIdOf(r) ?? '';
      await t.waitForState(id, ['deferred']);
      await t.app.spool.remove(id);
      await t.waitForState(id, ['bounced']);
      const dsn = await waitForMessage(sink, (m) => m.from === '' && m.raw.includes(id));
      assert.deepEqual(dsn.to, ['e@example.org']);
      const rep = parseReport(dsn.raw);
      assert.equal(rep.headers, undefined);
      const f = recipientOf(rep, 'held@example.net');
      assert.equal(f.get('action'), 'failed');
      assert.equal(f.get('diagnostic-code'), 'X-Smarthold; message body missing from the spool');
    } finally {
      await t.stop();
      await sink.close();
    }
  });
});

describe('expiry and delay warnings end to end', () => {
  test('a recipient deferred past the lifetime bounces with a DSN explaining the expiry', async () => {
    const sink = await startCaptureSink(0, {
      rcpt: (to) => (to === 'slow@example.net' ? { code: 451, text: '4.7.1 try again later' } : undefined),
    });
    const t = await startTestSmarthold({
      sink,
      config: { delivery: { lifetime: '600ms', retry_min: '100ms', retry_max: '200ms' } },
    });
    try {
      const r = await t.send('c@example.org', ['slow@example.net'], MSG);
      const id = queueIdOf(r) ?? '';
      await t.waitForState(id, ['bounced'], 10_000);
      const dsn = await waitForMessage(sink, (m) => m.from === '' && m.raw.includes(id));
      assert.deepEqual(dsn.to, ['c@example.org']);
      const f = recipientOf(parseReport(dsn.raw), 'slow@example.net');
      assert.equal(f.get('action'), 'failed');
      assert.match(
        f.get('diagnostic-code') ?? '',
        /expired after .* in the queue; last reply: 451 4\.7\.1 try again later/,
      );
      // No delay warning by default.
      assert.equal(reportsFor(sink, id).length, 1);
    } finally {
      await t.stop();
      await sink.close();
    }
  });

  test('delay warning when enabled: Action delayed, sent once, then the mail is delivered', async () => {
    let refusals = 0;
    const sink = await startCaptureSink(0, {
      rcpt: (to) =>
        to === 'later@example.net' && refusals++ < 6 ? { code: 451, text: '4.7.1 greylisted' } : undefined,
    });
    const t = await startTestSmarthold({
      sink,
      config: {
        delivery: {
          retry_min: '100ms',
          retry_max: '150ms',
          dsn: { delay_warning: '200ms', from: 'postmaster@smarthold.test' },
        },
      },
    });
    try {
      const r = await t.send('d@example.org', ['later@example.net'], MSG);
      const id = queueIdOf(r) ?? '';
      await t.waitForState(id, ['delivered'], 10_000);
      const reports = reportsFor(sink, id);
      assert.equal(reports.length, 1, 'one delay warning, no bounce');
      const dsn = reports[0] as CapturedMessage;
      assert.deepEqual(dsn.to, ['d@example.org']);
      const rep = parseReport(dsn.raw);
      assert.equal(rep.top.headers.get('from'), 'Mail Delivery System <postmaster@smarthold.test>');
      const f = recipientOf(rep, 'later@example.net');
      assert.equal(f.get('action'), 'delayed');
      assert.equal(f.get('status'), '4.7.1');
      assert.ok(f.get('will-retry-until'));
      assert.ok(((await t.app.store.get(id))?.recipients[0]?.attempts ?? 0) >= 3);
    } finally {
      await t.stop();
      await sink.close();
    }
  });
});
