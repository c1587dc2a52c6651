/**
 * matrix.test.ts — the decision matrix end to end over real SMTP (acceptance 1 and 2).
 *
 * smarthold with sender-auth, the Bayes scanner (wrapped to count calls) and
 * the quarantine; GTUBE for spam; a capture sink as next hop. Every matrix
 * cell × spam/clean × one/several recipients: the SMTP reply, what the sink
 * got (byte-identical for passed mail), what was held, which notices went
 * out, and how often the scanner ran. Runs on SQLite, PostgreSQL and MySQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { explainText, queueIdOf, type Reply } from '@smarthold/core';
import {
  assertIdentical,
  DIALECTS,
  EXTERNAL_SENDER,
  message,
  notices,
  OUR_SENDER,
  type QuarantineRig,
  releaseUrl,
  settle,
  skipFor,
  startRig,
} from './test-setup.js';

interface Case {
  readonly name: string;
  readonly ours: boolean;
  /** Recipients: 'f' filtered, 'u' unfiltered. */
  readonly to: readonly ('f' | 'u')[];
  readonly spam: boolean;
  readonly reply: 250 | 552;
  /** Which recipients (by index) the sink gets. */
  readonly delivered: readonly number[];
  /** Which recipients the copy is held for. */
  readonly held: readonly number[];
  /** Which recipients get a "we are holding mail for you" letter. */
  readonly letters: readonly number[];
  readonly scanned: boolean;
}

const CASES: readonly Case[] = [
  {
    name: 'ours → filtered, spam',
    ours: true,
    to: ['f'],
    spam: true,
    reply: 552,
    delivered: [],
    held: [0],
    letters: [0],
    scanned: true,
  },
  {
    name: 'ours → filtered, clean',
    ours: true,
    to: ['f'],
    spam: false,
    reply: 250,
    delivered: [0],
    held: [],
    letters: [],
    scanned: true,
  },
  {
    name: 'ours → unfiltered, spam',
    ours: true,
    to: ['u'],
    spam: true,
    reply: 552,
    delivered: [],
    held: [0],
    letters: [],
    scanned: true,
  },
  {
    name: 'ours → unfiltered, clean',
    ours: true,
    to: ['u'],
    spam: false,
    reply: 250,
    delivered: [0],
    held: [],
    letters: [],
    scanned: true,
  },
  {
    name: 'not ours → filtered, spam',
    ours: false,
    to: ['f'],
    spam: true,
    reply: 250,
    delivered: [],
    held: [0],
    letters: [0],
    scanned: true,
  },
  {
    name: 'not ours → filtered, clean',
    ours: false,
    to: ['f'],
    spam: false,
    reply: 250,
    delivered: [0],
    held: [],
    letters: [],
    scanned: true,
  },
  {
    name: 'not ours → unfiltered, spam',
    ours: false,
    to: ['u'],
    spam: true,
    reply: 250,
    delivered: [0],
    held: [],
    letters: [],
    scanned: false,
  },
  {
    name: 'not ours → unfiltered, clean',
    ours: false,
    to: ['u'],
    spam: false,
    reply: 250,
    delivered: [0],
    held: [],
    letters: [],
    scanned: false,
  },
  {
    name: 'ours → filtered + unfiltered, spam',
    ours: true,
    to: ['f', 'u', 'f'],
    spam: true,
    reply: 552,
    delivered: [],
    held: [0, 1, 2],
    letters: [0, 2],
    scanned: true,
  },
  {
    name: 'ours → filtered + unfiltered, clean',
    ours: true,
    to: ['f', 'u'],
    spam: false,
    reply: 250,
    delivered: [0, 1],
    held: [],
    letters: [],
    scanned: true,
  },
  {
    name: 'not ours → filtered + unfiltered, spam',
    ours: false,
    to: ['f', 'u', 'u'],
    spam: true,
    reply: 250,
    delivered: [1, 2],
    held: [0],
    letters: [0],
    scanned: true,
  },
  {
    name: 'not ours → filtered + unfiltered, clean',
    ours: false,
    to: ['u', 'f'],
    spam: false,
    reply: 250,
    delivered: [0, 1],
    held: [],
    letters: [],
    scanned: true,
  },
  {
    name: 'not ours → two unfiltered, spam',
    ours: false,
    to: ['u', 'u'],
    spam: true,
    reply: 250,
    delivered: [0, 1],
    held: [],
    letters: [],
    scanned: false,
  },
];

/** The queue id of a message: from the 250 reply, or from the release URL of a 552. */
async function queueIdFor(rig: QuarantineRig, r: Reply): Promise<string> {
  if (r.code === 250) return queueIdOf(r) ?? assert.fail(`no queue id in ${r.text}`);
  const token = /\/q\/m\/([A-Za-z0-9_-]{22})/.exec(releaseUrl(r))?.[1] ?? '';
  const t = await rig.service.check(token, 'message');
  assert.ok(t, 'the release URL names a held message');
  return t.subject;
}

for (const dialect of DIALECTS) {
  describe(`decision matrix over SMTP (${dialect})`, () => {
    let rig: QuarantineRig | undefined;
    let skip: false | string = false;
    before(async () => {
      skip = await skipFor(dialect);
      if (!skip) rig = await startRig(dialect);
    });
    after(async () => {
      await rig?.stop();
    });

    CASES.forEach((c, i) => {
      test(c.name, async (t) => {
        if (skip || !rig) {
          t.skip(skip || 'no rig');
          return;
        }
        const to = c.to.map((k, j) =>
          k === 'f' ? `r${String(i)}x${String(j)}@aol.com` : `r${String(i)}x${String(j)}@example.org`,
        );
        const raw = message({ spam: c.spam, external: !c.ours, subject: `case ${String(i)}` });
        const before = rig.sunk().length;
        const scans = rig.scans();
        // One "ours" sender per case: a sender is told once per interval per sending IP (throttle.test.ts).
        const r = await rig.send(c.ours ? `case${String(i)}.${OUR_SENDER}` : EXTERNAL_SENDER, to, raw);
        assert.equal(r.code, c.reply, r.text);
        if (c.reply === 552) {
          assert.match(r.text, /^552-5\.2\.1 Your message is quarantined/);
          const url = releaseUrl(r);
          assert.ok(r.text.split('\n').includes(`552 5.2.1 ${url}`), 'the URL on a line of its own');
          for (const l of r.text.split('\n'))
            assert.ok(Buffer.byteLength(l) + 2 <= 512, 'reply line fits 512 octets');
        }
        const id = await queueIdFor(rig, r);
        assert.equal(rig.scans() - scans, c.scanned ? 1 : 0, 'scanner calls');
        // Counted in recipients: passed mail to several recipients arrives as one transaction.
        const wanted = c.delivered.length + c.letters.length;
        const end = Date.now() + 10_000;
        while (
          rig
            .sunk()
            .slice(before)
            .flatMap((m) => m.to).length < wanted &&
          Date.now() < end
        ) {
          await new Promise((res) => setTimeout(res, 25));
        }
        const got = (await settle(rig, 300)).slice(before);
        assert.equal(
          got.flatMap((m) => m.to).length,
          wanted,
          `sink got ${JSON.stringify(got.map((m) => m.to))}`,
        );
        // Passed mail arrives byte-identical, once per delivered recipient.
        const passed = got.filter((m) => !notices([m]).length);
        assert.deepEqual(passed.flatMap((m) => m.to).sort(), c.delivered.map((j) => to[j]).sort());
        for (const m of passed) assertIdentical(m, raw);
        // Letters.
        assert.deepEqual(
          notices(got)
            .map((n) => n.to)
            .sort(),
          c.letters.map((j) => to[j]).sort(),
        );
        for (const n of notices(got)) assert.match(n.subject, /holding mail/i);
        // What is held.
        const q = await rig.t.app.store.get(id);
        assert.ok(q);
        const record = await rig.service.get(id);
        if (c.held.length) {
          assert.ok(record, 'a quarantine record');
          assert.equal(record.state, 'held');
          assert.equal(record.action, c.reply === 552 ? 'reject' : 'silent');
          assert.deepEqual([...record.recipients].sort(), c.held.map((j) => to[j]).sort());
          for (const j of c.held) {
            assert.equal(q.recipients.find((x) => x.address === to[j])?.state, 'hold');
          }
        } else {
          assert.equal(record, undefined);
        }
        const scan = q.results.find((x) => x.plugin === 'quarantine' && x.key === 'scan')?.value as
          { ran: boolean; why: string } | undefined;
        assert.ok(scan);
        assert.equal(scan.ran, c.scanned);
        if (!c.scanned) {
          assert.match(explainText(q), /cannot change the outcome/, 'explain says why no scan ran');
        }
      });
    });
  });
}
