/**
 * throttle.test.ts — re-notification throttles with an injected clock (acceptance 4).
 *
 * Recipients: three spammy messages within the interval give one letter, one
 * more after the interval gives another (and the reminders job sends one when
 * mail was held since the last letter). Senders, per sending IP: the first
 * spammy message is rejected with the URL, the next ones within the interval
 * are held silently, another IP is told at once, and after the interval the
 * sender is told again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fakeClock } from '@smarthold/testkit';
import { runReminders } from './jobs.js';
import {
  DIALECTS,
  EXTERNAL_SENDER,
  message,
  notices,
  type QuarantineRig,
  settle,
  skipFor,
  startRig,
} from './test-setup.js';

const DAY = 86_400_000;

for (const dialect of DIALECTS) {
  describe(`re-notification throttles (${dialect})`, () => {
    const clock = fakeClock(Date.UTC(2026, 0, 5, 12));
    let rig: QuarantineRig | undefined;
    let skip: false | string = false;
    before(async () => {
      skip = await skipFor(dialect);
      if (!skip) rig = await startRig(dialect, { clock });
    });
    after(async () => {
      await rig?.stop();
    });
    const r = (): QuarantineRig => rig ?? assert.fail('no rig');
    const lettersTo = async (address: string): Promise<number> =>
      notices(await settle(r())).filter((n) => n.to === address).length;

    test('recipient: one letter per interval, and only when something new was held', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const to = 'throttled@aol.com';
      for (let i = 0; i < 3; i++) {
        assert.equal(
          (await r().send(EXTERNAL_SENDER, [to], message({ spam: true, external: true }))).code,
          250,
        );
        clock.advance(DAY);
      }
      assert.equal(await lettersTo(to), 1, 'three messages within the interval: one letter');
      clock.advance(8 * DAY); // 11 days after the first letter
      assert.equal(
        (await r().send(EXTERNAL_SENDER, [to], message({ spam: true, external: true }))).code,
        250,
      );
      assert.equal(await lettersTo(to), 2, 'a new one after the interval: another letter');
      // The reminders job: nothing new since the last letter, so nothing is sent, even much later.
      clock.advance(30 * DAY);
      assert.equal(await runReminders(r().service, clock.now()), 0);
      // Something new within the interval: no letter now; the job sends it once the interval has passed.
      assert.equal(
        (await r().send(EXTERNAL_SENDER, [to], message({ spam: true, external: true }))).code,
        250,
      );
      assert.equal(await lettersTo(to), 3, 'first spam after a long pause is told at once');
      assert.equal(
        (await r().send(EXTERNAL_SENDER, [to], message({ spam: true, external: true }))).code,
        250,
      );
      assert.equal(await runReminders(r().service, clock.now()), 0, 'not due yet');
      clock.advance(10 * DAY);
      assert.equal(await runReminders(r().service, clock.now()), 1, 'due: the job sends the reminder');
      assert.equal(await lettersTo(to), 4);
    });

    test('sender: told once per interval per sending IP', async (t) => {
      if (skip) {
        t.skip(skip);
        return;
      }
      const from = 'repeat@example.net';
      const send = async (ip: string): Promise<number> =>
        (await r().send(from, ['someone@example.org'], message({ spam: true, ip }))).code;
      assert.equal(await send('203.0.113.5'), 552, 'first time: rejected with the URL');
      clock.advance(DAY);
      assert.equal(await send('203.0.113.5'), 250, 'within the interval, same IP: held silently');
      assert.equal(await send('203.0.113.5'), 250);
      assert.equal(await send('203.0.113.6'), 552, 'another sending IP is told');
      clock.advance(10 * DAY);
      assert.equal(await send('203.0.113.5'), 552, 'after the interval: told again');
      await r().service.setSenderPrefs(from, { renotifyDays: 0 });
      assert.equal(await send('203.0.113.5'), 552, 're-notify days 0: told every time');
    });
  });
}
