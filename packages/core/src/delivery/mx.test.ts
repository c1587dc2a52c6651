// MX delivery over real loopback sockets, with every DNS answer from an injected fake resolver.
import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { startCaptureSink, type CaptureSink } from '../testing/capture-sink.js';
import { startTestSmarthold, type TestSmarthold } from '../testing/harness.js';
import { queueIdOf } from '../testing/smtp-client.js';
import { configSchema } from '../config/schema.js';
import { MxTransport, type MxRecord, type MxResolver } from './mx.js';

const MSG = 'Subject: mx\r\n\r\nbody\r\n';

type Answer<T> = T | string; // a string is a node:dns error code
interface Zone {
  mx?: Answer<MxRecord[]>;
  a?: Answer<string[]>;
  aaaa?: Answer<string[]>;
}

/** A fake DNS: names not in `zones` are NXDOMAIN, missing record types NODATA. Records every question. */
function fakeResolver(zones: Record<string, Zone>): MxResolver & { asked: string[] } {
  const asked: string[] = [];
  function answer<T>(name: string, type: string, pick: (z: Zone) => Answer<T> | undefined): Promise<T> {
    asked.push(`${type} ${name}`);
    const z = zones[name];
    const a = z ? pick(z) : 'ENOTFOUND';
    if (a === undefined)
      return Promise.reject(Object.assign(new Error(`${type} ${name}: ENODATA`), { code: 'ENODATA' }));
    if (typeof a === 'string')
      return Promise.reject(Object.assign(new Error(`${type} ${name}: ${a}`), { code: a }));
    return Promise.resolve(a);
  }
  return {
    asked,
    resolveMx: (d) => answer(d, 'MX', (z) => z.mx),
    resolve4: (h) => answer(h, 'A', (z) => z.a),
    resolve6: (h) => answer(h, 'AAAA', (z) => z.aaaa),
  };
}

const zones: Record<string, Zone> = {
  // Listed out of order on purpose: MX 10 must be tried first (RFC 5321 §5.1).
  'pref.test': {
    mx: [
      { exchange: 'mx2.pref.test', priority: 20 },
      { exchange: 'mx1.pref.test', priority: 10 },
    ],
  },
  'mx1.pref.test': { a: ['127.0.0.2'] }, // nothing listens there
  'mx2.pref.test': { a: ['127.0.0.1'] }, // the capture sink
  'implicit.test': { a: ['127.0.0.1'] }, // no MX: the domain is its own MX
  'nullmx.test': { mx: [{ exchange: '', priority: 0 }] },
  'servfail.test': { mx: 'ESERVFAIL' },
  'tls.test': { mx: [{ exchange: 'mx.tls.test', priority: 0 }] },
  'sub.tls.test': { mx: [{ exchange: 'mx.tls.test', priority: 0 }] },
  'mx.tls.test': { a: ['127.0.0.1'] },
  'xn--bcher-kva.test': { mx: [{ exchange: 'mx.xn--bcher-kva.test', priority: 5 }] },
  'mx.xn--bcher-kva.test': { a: ['127.0.0.1'] },
};

describe('MX delivery (fake DNS, block_local_addresses off)', () => {
  let sink: CaptureSink;
  let dns: ReturnType<typeof fakeResolver>;
  let t: TestSmarthold;
  before(async () => {
    sink = await startCaptureSink();
    dns = fakeResolver(zones);
    t = await startTestSmarthold({
      sink: false,
      resolver: dns,
      config: {
        delivery: {
          mx: {
            port: sink.port,
            block_local_addresses: false,
            connect_timeout: '2s',
            require_tls: ['tls.test'],
          },
        },
      },
    });
  });
  after(async () => {
    await t.stop();
    await sink.close();
  });

  async function settle(to: string, states: ('delivered' | 'deferred' | 'bounced')[]) {
    const r = await t.send('a@example.org', [to], MSG);
    assert.equal(r.code, 250, r.text);
    const id = queueIdOf(r) ?? '';
    await t.waitForState(id, states);
    const rcpt = (await t.app.store.get(id))?.recipients[0];
    assert.ok(rcpt);
    return rcpt;
  }

  test('MX in preference order, falling back to the next MX when the first refuses the connection', async () => {
    const before = sink.messages.length;
    const r = await settle('u@pref.test', ['delivered']);
    assert.match(r.relay, /^mx2\.pref\.test\[127\.0\.0\.1\]:\d+$/);
    assert.deepEqual(sink.messages.at(-1)?.to, ['u@pref.test']);
    assert.equal(sink.messages.length, before + 1);
    assert.ok(dns.asked.includes('MX pref.test'));
    assert.ok(dns.asked.includes('A mx1.pref.test'));
  });

  test("no MX records: implicit MX, the domain's own address (RFC 5321 §5.1)", async () => {
    const r = await settle('u@implicit.test', ['delivered']);
    assert.match(r.relay, /^implicit\.test\[127\.0\.0\.1\]/);
    assert.ok(dns.asked.indexOf('MX implicit.test') < dns.asked.indexOf('A implicit.test'));
  });

  test('null MX (RFC 7505): bounced at once, 5.1.10, no connection', async () => {
    const attempts = sink.attempts.length;
    const r = await settle('u@nullmx.test', ['bounced']);
    assert.equal(r.dsn, '5.1.10');
    assert.match(r.delay_reason, /null MX/);
    assert.equal(r.attempts, 1);
    assert.equal(sink.attempts.length, attempts);
  });

  test('NXDOMAIN: bounced, 5.1.2', async () => {
    const r = await settle('u@nowhere.test', ['bounced']);
    assert.equal(r.dsn, '5.1.2');
    assert.match(r.delay_reason, /does not exist/);
  });

  test('SERVFAIL: deferred with the DNS error as reason', async () => {
    const r = await settle('u@servfail.test', ['deferred']);
    assert.match(r.delay_reason, /ESERVFAIL/);
    assert.equal(r.dsn, '4.4.3');
  });

  test('STARTTLS required (subdomain of a require_tls entry) but not offered: deferred, nothing sent in clear', async () => {
    const attempts = sink.attempts.length;
    const messages = sink.messages.length;
    const r = await settle('u@sub.tls.test', ['deferred']);
    assert.match(
      r.delay_reason,
      /TLS is required .*require_tls.*STARTTLS with mx\.tls\.test\[127\.0\.0\.1\]:\d+ failed/,
    );
    assert.equal(r.dsn, '4.7.4');
    // No MAIL FROM (hence no RCPT, no DATA) reached the sink.
    assert.equal(sink.attempts.length, attempts);
    assert.equal(sink.messages.length, messages);
  });

  test('recipients of several domains in one message get their own results', async () => {
    const r = await t.send('a@example.org', ['x@implicit.test', 'y@nullmx.test'], MSG);
    const id = queueIdOf(r) ?? '';
    await t.waitForState(id, ['delivered', 'bounced']);
    const by = Object.fromEntries(
      ((await t.app.store.get(id))?.recipients ?? []).map((x) => [x.address, x.state]),
    );
    assert.deepEqual(by, { 'x@implicit.test': 'delivered', 'y@nullmx.test': 'bounced' });
  });
});

describe('MX delivery with block_local_addresses on (the default)', () => {
  test('an MX at a loopback address is not connected to; deferred with the setting named', async () => {
    let connections = 0;
    const server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const dns = fakeResolver({
      'local.test': { mx: [{ exchange: 'mx.local.test', priority: 0 }] },
      'mx.local.test': { a: ['127.0.0.1'], aaaa: ['::1'] },
    });
    const t = await startTestSmarthold({
      sink: false,
      resolver: dns,
      config: { delivery: { mx: { port } } },
    });
    try {
      const r = await t.send('a@example.org', ['u@local.test'], MSG);
      const id = queueIdOf(r) ?? '';
      await t.waitForState(id, ['deferred']);
      const rcpt = (await t.app.store.get(id))?.recipients[0];
      assert.match(rcpt?.delay_reason ?? '', /block_local_addresses/);
      assert.match(rcpt?.delay_reason ?? '', /loopback/);
      assert.equal(rcpt?.dsn, '4.4.4');
      assert.equal(connections, 0);
    } finally {
      await t.stop();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** A bare SMTP server that records the command lines exactly as sent (smtp-server would decode A-labels). */
async function startRawSmtp(): Promise<{ port: number; lines: string[]; close(): Promise<void> }> {
  const lines: string[] = [];
  const server = net.createServer((s) => {
    let buf = '';
    let inData = false;
    s.write('220 raw.test ESMTP\r\n');
    s.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            s.write('250 2.0.0 ok\r\n');
          }
          continue;
        }
        lines.push(line);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') s.write('250-raw.test\r\n250 PIPELINING\r\n');
        else if (verb === 'DATA') {
          inData = true;
          s.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') s.end('221 bye\r\n');
        else s.write('250 ok\r\n');
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    lines,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

describe('IDN recipient domains', () => {
  test('the resolver is asked for the A-label and RCPT TO carries it; the result keeps the original address', async () => {
    const sink = await startRawSmtp();
    const dns = fakeResolver(zones);
    const mx = configSchema.parse({ delivery: { mx: { port: sink.port, block_local_addresses: false } } })
      .delivery.mx;
    const transport = new MxTransport(mx, { ourName: 'smarthold.test', resolver: dns });
    try {
      const results = await transport.deliver({
        queueId: 'Q1',
        from: 'a@example.org',
        to: ['user@Bücher.test'],
        size: MSG.length,
        openBody: () => Readable.from([Buffer.from(MSG)]),
      });
      assert.equal(results.length, 1);
      assert.equal(results[0]?.recipient, 'user@Bücher.test');
      assert.equal(results[0]?.ok, true, results[0]?.reply);
      assert.ok(dns.asked.includes('MX xn--bcher-kva.test'), dns.asked.join(', '));
      assert.ok(!dns.asked.some((q) => /ü/.test(q)));
      assert.ok(sink.lines.includes('RCPT TO:<user@xn--bcher-kva.test>'), sink.lines.join(' | '));
    } finally {
      await transport.close();
      await sink.close();
    }
  });
});

describe('an MX that refuses at the greeting', () => {
  test('the next MX is tried (RFC 5321 §5.1) and gets the message', async () => {
    const sink = await startCaptureSink();
    let greeted = 0;
    const busy = net.createServer((s) => {
      greeted++;
      s.end('421 4.3.2 too busy\r\n');
    });
    await new Promise<void>((resolve) => busy.listen(sink.port, '127.0.0.2', resolve));
    const dns = fakeResolver(zones);
    const mx = configSchema.parse({ delivery: { mx: { port: sink.port, block_local_addresses: false } } })
      .delivery.mx;
    const transport = new MxTransport(mx, { ourName: 'smarthold.test', resolver: dns });
    try {
      const [r] = await transport.deliver({
        queueId: 'Q2',
        from: 'a@example.org',
        to: ['u@pref.test'],
        size: MSG.length,
        openBody: () => Readable.from([Buffer.from(MSG)]),
      });
      assert.equal(r?.ok, true, r?.reply);
      assert.match(r.relay, /^mx2\.pref\.test\[127\.0\.0\.1\]/);
      assert.equal(greeted, 1);
      assert.equal(sink.messages.length, 1);
    } finally {
      await transport.close();
      await new Promise((resolve) => busy.close(resolve));
      await sink.close();
    }
  });
});
