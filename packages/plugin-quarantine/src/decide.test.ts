/**
 * decide.test.ts — the matrix, preferences, heuristics and scan triggers as pure functions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decideMessage,
  decideRecipient,
  type MessageFacts,
  type RecipientFacts,
  resolveRedirect,
  scanReason,
  type ScanOptions,
} from './decide.js';

const spamOurs: MessageFacts = {
  ours: true,
  okToBounce: true,
  spam: true,
  senderAction: 'quarantine',
  senderRecentlyTold: false,
  keepForRecord: false,
  freePass: false,
};
const spamExternal: MessageFacts = { ...spamOurs, ours: false, okToBounce: false };
const filtered: RecipientFacts = {
  address: 'a@aol.com',
  filtered: true,
  action: 'hold',
  special: false,
  popular: false,
};
const unfiltered: RecipientFacts = { ...filtered, address: 'b@example.org', filtered: false };

test('the four cells for spammy mail', () => {
  assert.deepEqual(decideRecipient(spamOurs, filtered), {
    kind: 'hold-reject',
    notify: true,
    why: 'ours/filtered: held, sender told, recipient told',
  });
  assert.equal(decideRecipient(spamOurs, unfiltered).kind, 'hold-reject');
  assert.equal((decideRecipient(spamOurs, unfiltered) as { notify: boolean }).notify, false);
  assert.deepEqual(decideRecipient(spamExternal, filtered), {
    kind: 'hold',
    notify: true,
    why: 'not-ours/filtered: held silently, recipient told',
  });
  assert.equal(decideRecipient(spamExternal, unfiltered).kind, 'deliver');
});

test('clean mail always passes, whatever the preferences', () => {
  const clean = { ...spamOurs, spam: false, senderAction: 'bounce' as const };
  for (const r of [filtered, unfiltered, { ...filtered, action: 'drop' as const }]) {
    assert.equal(decideRecipient(clean, r).kind, 'deliver');
  }
});

test('recipient preferences: drop, redirect, a broken redirect chain', () => {
  assert.equal(decideRecipient(spamOurs, { ...filtered, action: 'drop' }).kind, 'discard');
  assert.deepEqual(
    decideRecipient(spamExternal, { ...filtered, action: 'redirect', redirectTo: 'a@example.org' }),
    {
      kind: 'redirect',
      to: 'a@example.org',
      why: 'not-ours/filtered: recipient redirects to a@example.org',
    },
  );
  const broken = decideRecipient(spamOurs, {
    ...filtered,
    action: 'redirect',
    redirectProblem: 'loop through x@y.z',
  });
  assert.equal(broken.kind, 'hold');
  assert.match(broken.why, /loop/);
  // Preferences never turn "let it through" into a hold.
  assert.equal(decideRecipient(spamExternal, { ...unfiltered, action: 'drop' }).kind, 'deliver');
});

test('sender preferences: discard (every Nth kept), bounce', () => {
  assert.equal(decideRecipient({ ...spamOurs, senderAction: 'discard' }, unfiltered).kind, 'discard');
  const kept = decideRecipient({ ...spamOurs, senderAction: 'discard', keepForRecord: true }, unfiltered);
  assert.deepEqual(kept, {
    kind: 'hold',
    notify: false,
    why: 'ours/unfiltered: sender chose discard, this one kept for the record',
  });
  assert.equal(decideRecipient({ ...spamOurs, senderAction: 'bounce' }, filtered).kind, 'bounce');
  // A not-ours sender's preference is not asked: they were never told.
  assert.equal(decideRecipient({ ...spamExternal, senderAction: 'bounce' }, filtered).kind, 'hold');
});

test('heuristics: never bounce to <>, special and popular recipients, the sender throttle, free passes', () => {
  const nullSender = decideRecipient({ ...spamOurs, okToBounce: false }, unfiltered);
  assert.equal(nullSender.kind, 'hold');
  assert.match(nullSender.why, /never bounce to <>/);
  assert.equal(decideRecipient(spamOurs, { ...unfiltered, special: true }).kind, 'hold');
  const popular = decideRecipient(spamOurs, { ...filtered, popular: true });
  assert.deepEqual([popular.kind, (popular as { notify: boolean }).notify], ['hold', true]);
  const throttled = decideRecipient({ ...spamOurs, senderRecentlyTold: true }, unfiltered);
  assert.deepEqual([throttled.kind, (throttled as { notify: boolean }).notify], ['hold', false]);
  assert.equal(decideRecipient({ ...spamOurs, freePass: true }, filtered).kind, 'deliver');
});

test('the whole message: a reject with URL wins over a plain bounce, then accept', () => {
  const d = (kind: string) => ({ kind, why: '', notify: false, to: '' }) as never;
  assert.deepEqual(decideMessage([d('deliver'), d('hold-reject'), d('bounce')]), { kind: 'reject-hold' });
  assert.deepEqual(decideMessage([d('deliver'), d('bounce')]), { kind: 'bounce' });
  assert.deepEqual(decideMessage([d('deliver'), d('hold'), d('discard')]), { kind: 'accept' });
});

const opts: ScanOptions = {
  ours: true,
  from_our_networks: false,
  not_from_our_networks: false,
  from_our_domains: false,
  not_from_our_domains: false,
  all: false,
  random_percent: 0,
};
const base = {
  ours: false,
  anyFiltered: false,
  fromOurNetworks: false,
  fromOurDomains: false,
  specialSender: false,
  dice: 50,
};

test('scan triggers: only when the verdict can change the outcome, unless forced', () => {
  assert.deepEqual(scanReason(base, opts), {
    scan: false,
    decisive: false,
    why: 'sender not ours and no filtered recipient: the verdict cannot change the outcome',
  });
  assert.equal(scanReason({ ...base, anyFiltered: true }, opts).decisive, true);
  assert.equal(scanReason({ ...base, ours: true }, opts).scan, true);
  assert.equal(scanReason({ ...base, ours: true }, { ...opts, ours: false }).scan, false);
  assert.deepEqual(scanReason({ ...base, specialSender: true }, opts), {
    scan: true,
    decisive: false,
    why: 'special sender',
  });
  assert.equal(scanReason(base, { ...opts, all: true }).why, 'scan.all');
  assert.equal(scanReason(base, { ...opts, not_from_our_networks: true }).scan, true);
  assert.equal(scanReason(base, { ...opts, from_our_networks: true }).scan, false);
  assert.equal(scanReason({ ...base, fromOurDomains: true }, { ...opts, from_our_domains: true }).scan, true);
  assert.equal(scanReason(base, { ...opts, not_from_our_domains: true }).scan, true);
  assert.equal(scanReason({ ...base, dice: 0.5 }, { ...opts, random_percent: 1 }).why, 'random sample (1%)');
  assert.equal(scanReason({ ...base, dice: 1.5 }, { ...opts, random_percent: 1 }).scan, false);
});

test('redirect chains: followed, bounded, loops detected', async () => {
  const table: Record<string, string> = { a: 'b', b: 'c', c: 'd', x: 'y', y: 'x' };
  const next = (k: string) => Promise.resolve(table[k]);
  assert.deepEqual(await resolveRedirect('a', next, 10), { to: 'd' });
  assert.deepEqual(await resolveRedirect('a', next, 2), { problem: 'more than 2 hops' });
  assert.deepEqual(await resolveRedirect('x', next, 10), { problem: 'loop through x' });
  assert.deepEqual(await resolveRedirect('q', next, 10), { problem: 'no confirmed target' });
  const long: Record<string, string> = {};
  for (let i = 0; i < 12; i++) long[`n${String(i)}`] = `n${String(i + 1)}`;
  assert.deepEqual(await resolveRedirect('n0', (k) => Promise.resolve(long[k]), 10), {
    problem: 'more than 10 hops',
  });
});
