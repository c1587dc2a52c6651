// Routing recipients to transports: matching, splitting and merging, start-up checks.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { configSchema } from '../config/schema.js';
import { isSmartholdError } from '../errors.js';
import { startTestSmarthold } from '../testing/harness.js';
import { RoutingTransport, checkRoutes, createTransport, routeMatches } from './router.js';
import type { DeliveryJob, Transport, TransportResult } from './transport.js';

function recorder(name: string): Transport & { jobs: string[][] } {
  const jobs: string[][] = [];
  return {
    name,
    jobs,
    deliver(job: DeliveryJob): Promise<TransportResult[]> {
      jobs.push([...job.to]);
      return Promise.resolve(
        job.to.map((recipient) => ({
          recipient,
          ok: true,
          temporary: false,
          reply: `250 via ${name}`,
          dsn: '2.0.0',
          relay: name,
        })),
      );
    },
    close: () => Promise.resolve(),
  };
}

const job = (to: string[]): DeliveryJob => ({
  queueId: 'Q',
  from: 'a@example.org',
  to,
  size: 1,
  openBody: () => Readable.from([]),
});

describe('route matching', () => {
  test('exact entries match the domain only; ".parent" entries match subdomains only', () => {
    assert.equal(routeMatches('example.org', 'example.org'), true);
    assert.equal(routeMatches('a.example.org', 'example.org'), false);
    assert.equal(routeMatches('a.example.org', '.example.org'), true);
    assert.equal(routeMatches('example.org', '.example.org'), false);
    assert.equal(routeMatches('badexample.org', '.example.org'), false);
    assert.equal(routeMatches('example.org', 'EXAMPLE.org'), true);
  });

  test('IDN entries compare as A-labels', () => {
    assert.equal(routeMatches('xn--bcher-kva.test', 'bücher.test'), true);
  });
});

describe('RoutingTransport', () => {
  test('first matching route wins, the rest take the default; results come back in recipient order', async () => {
    const relay = recorder('relay');
    const mx = recorder('mx');
    const r = new RoutingTransport(
      [
        { domains: ['inside.test', '.inside.test'], transport: 'relay' },
        { domains: ['.test'], transport: 'mx' },
      ],
      { relay, mx },
      'relay',
    );
    const out = await r.deliver(job(['a@x.test', 'b@inside.test', 'c@elsewhere.org', 'd@deep.inside.test']));
    assert.deepEqual(
      out.map((x) => [x.recipient, x.relay]),
      [
        ['a@x.test', 'mx'],
        ['b@inside.test', 'relay'],
        ['c@elsewhere.org', 'relay'],
        ['d@deep.inside.test', 'relay'],
      ],
    );
    assert.deepEqual(mx.jobs, [['a@x.test']]);
    assert.deepEqual(relay.jobs, [['b@inside.test', 'c@elsewhere.org', 'd@deep.inside.test']]);
  });

  test('the default is relay when [delivery.relay] is set, else mx', () => {
    const withRelay = configSchema.parse({ delivery: { relay: { host: '127.0.0.1' } } });
    const without = configSchema.parse({});
    const a = createTransport(withRelay, { ourName: 'n' });
    const b = createTransport(without, { ourName: 'n' });
    assert.equal(a.pick('example.net'), 'relay');
    assert.equal(b.pick('example.net'), 'mx');
    void a.close();
    void b.close();
  });
});

describe('a route to relay without [delivery.relay]', () => {
  test('checkRoutes names delivery.routes', () => {
    const cfg = configSchema.parse({ delivery: { routes: [{ domains: ['x.test'], transport: 'relay' }] } });
    assert.throws(
      () => {
        checkRoutes(cfg.delivery);
      },
      (err: unknown) =>
        isSmartholdError(err, 'SMARTHOLD_CONFIG_INVALID') && /delivery\.routes/.test(err.message),
    );
  });

  test('stops start-up with SMARTHOLD_CONFIG_INVALID', async () => {
    await assert.rejects(
      startTestSmarthold({
        sink: false,
        config: { delivery: { routes: [{ domains: ['x.test'], transport: 'relay' }] } },
      }),
      (err: unknown) =>
        isSmartholdError(err, 'SMARTHOLD_CONFIG_INVALID') && /delivery\.routes/.test(err.message),
    );
  });
});
