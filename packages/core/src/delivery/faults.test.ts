// Faults on both sides: our store at accept time, a full disk, and next hops that misbehave
// (the scriptable capture sink, and Postfix's smtp-sink with its fault flags).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { needService } from '../testing/require.js';
import { startTestSmarthold } from '../testing/harness.js';
import { queueIdOf } from '../testing/smtp-client.js';

const MSG = 'Subject: f\r\n\r\nbody\r\n';

describe('our side fails', () => {
  test('a store error at accept time answers 451 4.3.0 and leaves no spool file', async () => {
    const t = await startTestSmarthold();
    try {
      // A fault double for the database commit (a full or broken disk).
      t.app.store.commit = () => Promise.reject(new Error('SQLITE_FULL: database or disk is full'));
      const r = await t.send('a@example.org', ['b@example.net'], MSG);
      assert.match(r.text, /^451 4\.3\.0 /);
      const spool = path.join(t.dir, 'spool');
      assert.deepEqual(readdirSync(path.join(spool, 'tmp')), []);
      assert.deepEqual(
        readdirSync(path.join(spool, 'q')).flatMap((d) => readdirSync(path.join(spool, 'q', d))),
        [],
      );
    } finally {
      await t.stop();
    }
  });

  test('below queue_min_free, MAIL gets 452 4.3.1', async () => {
    const t = await startTestSmarthold({ config: { smtp: { queue_min_free: Number.MAX_SAFE_INTEGER } } });
    try {
      const r = await t.send('a@example.org', ['b@example.net'], MSG);
      assert.match(r.text, /^452 4\.3\.1 /);
    } finally {
      await t.stop();
    }
  });
});

describe('the next hop misbehaves', () => {
  test('a final reply slower than the timeout: deferred, then delivered when it answers in time', async () => {
    const t = await startTestSmarthold({ config: { delivery: { relay: { timeout: '500ms' } } } });
    try {
      let slow = true;
      if (t.sink) {
        t.sink.script = {
          get dataDelayMs() {
            return slow ? 2000 : 0;
          },
        };
      }
      const r = await t.send('a@example.org', ['b@example.net'], MSG);
      const id = queueIdOf(r) ?? '';
      await t.waitForState(id, ['deferred'], 5000);
      assert.match((await t.app.store.get(id))?.recipients[0]?.delay_reason ?? '', /timeout|timed out/i);
      slow = false;
      await t.waitForState(id, ['delivered'], 10_000);
    } finally {
      await t.stop();
    }
  });

  test('STARTTLS required but not offered: deferred, and no MAIL or DATA is sent in clear', async () => {
    const t = await startTestSmarthold({ config: { delivery: { relay: { tls: 'required' } } } });
    try {
      const r = await t.send('a@example.org', ['b@example.net'], MSG);
      const id = queueIdOf(r) ?? '';
      await t.waitForState(id, ['deferred'], 5000);
      assert.match((await t.app.store.get(id))?.recipients[0]?.delay_reason ?? '', /STARTTLS/i);
      assert.deepEqual(t.sink?.attempts, [], 'no MAIL FROM reached the sink');
      assert.equal(t.sink?.messages.length, 0);
    } finally {
      await t.stop();
    }
  });
});

/** Starts Postfix's smtp-sink with fault flags on a free port; resolves with its port and a stop function. */
async function smtpSink(flags: string[]): Promise<{ port: number; stop(): void }> {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => {
        resolve(p);
      });
    });
  });
  // As root smtp-sink must be told which user to drop to.
  const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  const child = spawn('/usr/sbin/smtp-sink', [...user, ...flags, `127.0.0.1:${port}`, '10'], {
    stdio: 'ignore',
  });
  let up = false;
  for (let i = 0; i < 50 && !up; i++) {
    up = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => {
        resolve(false);
      });
    });
    if (!up) await new Promise((r) => setTimeout(r, 50));
  }
  if (!up) throw new Error(`smtp-sink ${flags.join(' ')} did not start on port ${port}`);
  return {
    port,
    stop: () => {
      child.kill();
    },
  };
}

describe("Postfix's smtp-sink with fault flags as next hop", () => {
  const cases: { flags: string[]; want: 'deferred' | 'bounced'; what: string }[] = [
    { flags: ['-r', 'RCPT'], want: 'deferred', what: '4xx at RCPT' },
    { flags: ['-f', 'RCPT'], want: 'bounced', what: '5xx at RCPT' },
    { flags: ['-r', 'DATA'], want: 'deferred', what: '4xx at DATA' },
    { flags: ['-f', '.'], want: 'bounced', what: '5xx after the final dot' },
    { flags: ['-q', '.'], want: 'deferred', what: 'disconnect after the final dot' },
    { flags: ['-Q', 'MAIL'], want: 'deferred', what: '421 at MAIL' },
  ];
  for (const c of cases) {
    test(`${c.what} (smtp-sink ${c.flags.join(' ')}) → ${c.want}`, async (t) => {
      const skip = await needService('smtp-sink', () => Promise.resolve(existsSync('/usr/sbin/smtp-sink')));
      if (skip) {
        t.skip(skip);
        return;
      }
      const sink = await smtpSink(c.flags);
      const s = await startTestSmarthold({
        sink: false,
        config: { delivery: { relay: { host: '127.0.0.1', port: sink.port, tls: 'none' } } },
      });
      try {
        const r = await s.send('a@example.org', ['b@example.net'], MSG);
        const id = queueIdOf(r) ?? '';
        await s.waitForState(id, [c.want], 10_000);
        const rcpt = (await s.app.store.get(id))?.recipients[0];
        assert.ok(rcpt?.delay_reason, 'the reply is kept as delay_reason');
        assert.doesNotMatch(
          rcpt.delay_reason,
          /ECONNREFUSED|connect to/,
          'smtp-sink answered (not a refused connection)',
        );
      } finally {
        await s.stop();
        sink.stop();
      }
    });
  }
});
