// Durability under load, with the real command: clients keep sending while
// smarthold is killed (SIGKILL) twice, at moments of the test's choosing, then
// restarted; every message that got a 250 must reach the next hop, whole, at
// least once, and none that got a refusal may. This is the promise the
// performance work (group commit, bodies stored with their records, delivery
// results synced with the next commit) must keep.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { GTUBE } from '@smarthold/plugin-bayes';
import { sendMail, startCaptureSink, type CapturedMessage } from '@smarthold/core';
import { cleanup, cli, config, freePort, startProcess, tmp, type Running } from './test-process.js';

after(cleanup);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a client learnt of one message: the reply to its final dot, or nothing (the connection died first). */
interface Sent {
  readonly n: number;
  readonly to: readonly string[];
  readonly spam: boolean;
  code?: number;
}

/** Body sizes, cycled: small ones are stored with their records, the 300 KB one in a spool file of its own. */
const SIZES = [2_000, 5_000, 40_000, 2_000, 120_000, 5_000, 300_000];

function message(n: number, spam: boolean): string {
  const size = SIZES[n % SIZES.length] ?? 2_000;
  const lines: string[] = [];
  for (let i = 0, len = 0; len < size; i++) {
    const line = `line ${String(i)} of message ${String(n)}: the quick brown fox jumps over the lazy dog`;
    lines.push(i % 50 === 0 ? `.${line}` : line); // some lines start with a dot: stuffed and unstuffed on the way
    len += line.length + 2;
  }
  if (spam) lines.push(GTUBE);
  const body = lines.join('\r\n') + '\r\n';
  return (
    `From: <load${String(n)}@example.org>\r\nTo: <b@example.net>\r\nSubject: load ${String(n)}\r\n` +
    `Message-ID: <load-${String(n)}@example.org>\r\n` +
    `X-Digest: ${createHash('sha256').update(body).digest('hex')}\r\n\r\n${body}`
  );
}

const checked = new WeakMap<CapturedMessage, { n: number; whole: boolean }>();

/** Message number and whether its body is the one the sender wrote, from what the next hop received. */
function check(m: CapturedMessage): { n: number; whole: boolean } {
  const known = checked.get(m);
  if (known) return known;
  const raw = m.raw.toString('latin1');
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split);
  const n = Number(/^Message-ID: <load-(\d+)@/im.exec(head)?.[1] ?? -1);
  const digest = /^X-Digest: ([0-9a-f]+)/im.exec(head)?.[1];
  const body = raw.slice(split + 4);
  const result = { n, whole: createHash('sha256').update(body, 'latin1').digest('hex') === digest };
  checked.set(m, result);
  return result;
}

/**
 * Clients sending until `stop()`, each message numbered; `sent` gets every
 * message that reached the server (a refused connection is not one).
 */
function load(port: number, clients: number, sent: Sent[]): { stop(): Promise<void> } {
  let stopped = false;
  let next = 0;
  const loops = Array.from({ length: clients }, async () => {
    while (!stopped) {
      const n = next++;
      const spam = n % 13 === 5;
      const to = spam ? ['x@aol.com'] : n % 4 === 1 ? ['b@example.net', 'c@example.net'] : ['b@example.net'];
      const s: Sent = { n, to, spam };
      try {
        const reply = await sendMail(port, `load${String(n)}@example.org`, to, message(n, spam));
        if (reply.code !== 0) s.code = reply.code; // 0: the connection closed before the reply
        sent.push(s);
      } catch (err) {
        // Down or restarting: a refused connection never carried the message; a reset one may have.
        if ((err as { code?: string }).code !== 'ECONNREFUSED') sent.push(s);
        await sleep(20);
      }
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

describe('durability under load', () => {
  test('two SIGKILLs while 8 clients send: every 250 arrives whole, no refusal arrives', async (t) => {
    const dir = tmp();
    const sink = await startCaptureSink(0, { dataDelayMs: 5 });
    const port = await freePort();
    const file = config(dir, sink.port);
    writeFileSync(file, readFileSync(file, 'utf8').replace('127.0.0.1:0"]', `127.0.0.1:${String(port)}"]`));
    const sent: Sent[] = [];
    const timings: number[] = [];
    const traffic = load(port, 8, sent);
    let running: Running | undefined;
    try {
      for (let round = 0; round < 2; round++) {
        running = await startProcess(file);
        // A random moment, but not before this life of the process accepted 30 messages (a
        // machine busy with other tests is slow), nor later than 15 s.
        const began = Date.now();
        const before = sent.filter((s) => s.code === 250).length;
        await sleep(1500 + Math.floor(Math.random() * 1500));
        while (sent.filter((s) => s.code === 250).length - before < 30 && Date.now() - began < 15_000)
          await sleep(100);
        timings.push(Date.now() - began);
        await running.stop('SIGKILL');
      }
      await traffic.stop();
      running = await startProcess(file);
      const accepted = sent.filter((s) => s.code === 250);
      const wanted = new Set(accepted.map((s) => s.n));
      const deadline = Date.now() + 60_000;
      const arrived = (): Set<number> =>
        new Set(sink.messages.filter((m) => m.from !== '').map((m) => check(m).n));
      for (
        let seen = arrived();
        [...wanted].some((n) => !seen.has(n)) && Date.now() < deadline;
        seen = arrived()
      )
        await sleep(100);
      await sleep(500); // anything that should not arrive has had its chance too
      const context = `kills after ${timings.join(', ')} ms; ${String(sent.length)} sent, ${String(accepted.length)} accepted, ${String(sent.filter((s) => s.code === undefined).length)} cut off`;

      assert.ok(accepted.length > 50, `too little load to mean anything (${context})`);

      // The quarantine's notices to recipients of held mail come from <>; the rest are the clients' messages.
      const relayed = sink.messages.filter((m) => m.from !== '');
      const got = relayed.map(check);
      const missing = [...wanted].filter((n) => !got.some((g) => g.n === n));
      assert.deepEqual(missing, [], `accepted but never delivered (${context})`);
      assert.deepEqual(
        got.filter((g) => !g.whole).map((g) => g.n),
        [],
        `delivered with a body that is not the one sent (${context})`,
      );
      const refused = new Set(sent.filter((s) => s.code !== undefined && s.code !== 250).map((s) => s.n));
      assert.deepEqual(
        got.filter((g) => refused.has(g.n)).map((g) => g.n),
        [],
        `refused but delivered (${context})`,
      );
      for (const s of accepted) {
        const copies = relayed.filter((m) => check(m).n === s.n);
        assert.deepEqual(new Set(copies.flatMap((m) => m.to)), new Set(s.to), `recipients of ${String(s.n)}`);
      }
      t.diagnostic(`${context}; ${String(got.length - new Set(got.map((g) => g.n)).size)} delivered twice`);
      // Each spam message answered 552 is held, not lost: the quarantine lists it.
      const held = sent.filter((s) => s.spam && s.code === 552);
      const list = cli(['quarantine', 'list', '--json', '-c', file], dir);
      assert.equal(list.status, 0, list.stderr);
      for (const s of held)
        assert.ok(list.stdout.includes(`load ${String(s.n)}"`), `held ${String(s.n)} listed`);

      // Nothing is left behind: the queue is empty and no temporary spool file remains.
      await running.stop();
      running = undefined;
      const queue = cli(['queue', 'list', '--json', '-c', file], dir);
      assert.equal(queue.status, 0, queue.stderr);
      const left = queue.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { queue_name: string; sender: string })
        .filter((q) => q.queue_name !== 'hold');
      assert.deepEqual(left, [], `queue after delivery, held mail aside (${context})`);
      assert.deepEqual(readdirSync(path.join(dir, 'var', 'spool', 'tmp')), []);
    } finally {
      await traffic.stop();
      await running?.stop('SIGKILL');
      await sink.close();
    }
  });
});
