/**
 * api.types.test.ts — type tests for the public plugin API.
 *
 * This file is compiled by `tsc -b` (so `npm test`): every `@ts-expect-error`
 * line must fail to type-check, or the build fails with "Unused
 * '@ts-expect-error' directive". The `Equal` checks pin inferred types. At
 * run time it only checks that the plugins it defines are manifests. It does
 * not test behaviour; plugin/host.test.ts does.
 */
// Type tests write hooks as short async arrows without awaits, touch
// properties only to type-check them, and use the standard generic Equal<A, B>.
/* eslint-disable @typescript-eslint/require-await, @typescript-eslint/no-meaningless-void-operator, @typescript-eslint/no-unnecessary-type-parameters */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import {
  definePlugin,
  verdict,
  type CommandVerdict,
  type MessageVerdict,
  type PluginContext,
  type ServiceType,
  type SpamScanner,
} from './index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_ok: T): void {
  // Compile-time only.
}

const typed = definePlugin({
  name: 'typed',
  version: '1.0.0',
  core: '^1',
  requires: ['spam-scanner'],
  config: z.strictObject({ greeting: z.string().default('hi'), limit: z.number().int().optional() }),
  setup(ctx) {
    // Config is the schema's output type: defaults make keys required.
    expectType<Equal<typeof ctx.config, { greeting: string; limit?: number | undefined }>>(true);
    const g: string = ctx.config.greeting;
    // @ts-expect-error: not a key of the schema
    void ctx.config.nope;
    // @ts-expect-error: greeting is a string
    const n: number = ctx.config.greeting;

    // The spam-scanner service is typed through the Services augmentation in spam/contract.ts.
    const scanner = ctx.service('spam-scanner');
    expectType<Equal<typeof scanner, SpamScanner>>(true);
    expectType<Equal<ServiceType<'spam-scanner'>, SpamScanner>>(true);
    expectType<Equal<ReturnType<typeof ctx.maybeService<'spam-scanner'>>, SpamScanner | undefined>>(true);
    // @ts-expect-error: SpamScanner has no check()
    void scanner.check;
    // Unknown services are untyped (unknown), not any.
    expectType<Equal<ReturnType<typeof ctx.service<'not-declared'>>, unknown>>(true);

    // @ts-expect-error: a known service must be provided with its declared shape
    ctx.provide('spam-scanner', { name: 'x' });
    // @ts-expect-error: scan must return a Promise<ScanVerdict>
    ctx.provide('spam-scanner', { name: 'x', scan: () => 'spam' });
    ctx.provide('spam-scanner', scanner);

    // Command hooks allow continue / accept / reject / tempfail only.
    ctx.hook('rcpt', async (_tx, rcpt) =>
      rcpt.endsWith('@x.example') ? verdict.reject('no') : verdict.accept(),
    );
    // @ts-expect-error: hold is a message verdict, not allowed at rcpt
    ctx.hook('rcpt', async () => verdict.hold('spam'));
    // @ts-expect-error: discard is not allowed at mail
    ctx.hook('mail', async () => verdict.discard('x'));
    // @ts-expect-error: per-recipient outcomes are not allowed at connect
    ctx.hook('connect', async () => verdict.recipients({}));

    // Message hooks allow hold / discard / recipients, but not accept.
    ctx.hook('data', async (tx) =>
      tx.headers.first('subject')
        ? verdict.hold(g)
        : verdict.recipients({ [tx.to[0] ?? '']: { kind: 'deliver' } }),
    );
    // @ts-expect-error: accept is a command verdict, not allowed at data
    ctx.hook('queue', async () => verdict.accept());
    // @ts-expect-error: a recipient outcome cannot be "reject"
    ctx.hook('data', async () => verdict.recipients({ a: { kind: 'reject' } }));
    // @ts-expect-error: a hook must return a Promise of a verdict, not a verdict
    ctx.hook('helo', () => verdict.next());
    // @ts-expect-error: no such hook
    ctx.hook('rset', async () => verdict.next());
    // Delivery hooks return nothing.
    ctx.hook('delivery', async (_o) => {
      expectType<Equal<typeof _o.status, 'delivered' | 'deferred' | 'bounced'>>(true);
    });
    void n;
  },
});

// A plugin without a schema gets `unknown` config.
definePlugin({
  name: 'untyped',
  version: '1.0.0',
  core: '^1',
  setup(ctx) {
    expectType<Equal<typeof ctx, PluginContext>>(true);
    // @ts-expect-error: config is unknown without a schema
    void ctx.config.anything;
  },
});

// @ts-expect-error: a manifest needs a version and a core range
definePlugin({ name: 'incomplete', setup() {} });

expectType<Equal<Extract<CommandVerdict, { kind: 'hold' }>, never>>(true);
expectType<Equal<Extract<MessageVerdict, { kind: 'accept' }>, never>>(true);

test('the plugins defined for the type tests are manifests', () => {
  assert.equal(typed.name, 'typed');
  assert.equal(typeof typed.setup, 'function');
});
