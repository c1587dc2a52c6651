// writeOrDrain over a real loopback socket: waits for 'drain' under backpressure, fails on close.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { writeOrDrain } from './drain.js';

async function pair(): Promise<{ client: net.Socket; peer: net.Socket; close(): void }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', r));
  const peer = await accepted;
  return {
    client,
    peer,
    close() {
      client.destroy();
      peer.destroy();
      server.close();
    },
  };
}

test('resolves at once while the socket takes data, and only after drain when it does not', async () => {
  const p = await pair();
  try {
    p.peer.pause(); // nobody reads: the kernel buffers fill, then Node's
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    let waited = false;
    for (let i = 0; i < 64 && !waited; i++) {
      const w = writeOrDrain(p.client, chunk);
      const first = await Promise.race([
        w.then(() => 'done'),
        new Promise((r) =>
          setTimeout(() => {
            r('waiting');
          }, 50),
        ),
      ]);
      if (first === 'waiting') {
        waited = true;
        p.peer.resume(); // reading again lets the writer drain
        await w;
      }
    }
    assert.ok(waited, 'a paused reader made a write wait for drain');
  } finally {
    p.close();
  }
});

test('rejects with the given error when the connection closes while it waits', async () => {
  const p = await pair();
  try {
    p.peer.pause();
    const chunk = Buffer.alloc(1024 * 1024, 0x62);
    let pending: Promise<void> | undefined;
    for (let i = 0; i < 64; i++) {
      const w = writeOrDrain(p.client, chunk, () => new Error('closed early'));
      const state = await Promise.race([
        w.then(() => 'done'),
        new Promise((r) =>
          setTimeout(() => {
            r('waiting');
          }, 50),
        ),
      ]);
      if (state === 'waiting') {
        pending = w;
        break;
      }
    }
    assert.ok(pending, 'a write waited for drain');
    p.client.destroy();
    await assert.rejects(pending, /closed early/);
  } finally {
    p.close();
  }
});
