// socketExchange over real loopback sockets: success, connect timeout and refusal, abort,
// a reply that arrived winning over the write error that follows, a server that closes
// early without one, a reply too large, a reply that is no reply, a message of the wrong length.
import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import {
  connectSocket,
  MessageLengthError,
  socketExchange,
  type ExchangeFailure,
  type ExchangeMessage,
  type SocketExchange,
} from './exchange.js';

/** A loopback server whose connections `onConnection` handles; remembers what each sent. */
async function server(onConnection: (socket: net.Socket, got: () => Buffer) => void): Promise<{
  port: number;
  received: Buffer[];
  closed: Promise<void>[];
  close(): Promise<void>;
}> {
  const received: Buffer[] = [];
  const closed: Promise<void>[] = [];
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    const parts: Buffer[] = [];
    const index = received.push(Buffer.alloc(0)) - 1;
    closed.push(
      new Promise<void>((r) => {
        socket.once('close', () => {
          r();
        });
      }),
    );
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      received[index] = Buffer.concat(parts);
    });
    onConnection(socket, () => Buffer.concat(parts));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    received,
    closed,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => {
          r();
        });
      }),
  };
}

/** A message of `size` octets claimed, streamed in 64 KB pieces of `actual` octets. */
function message(actual: number, size = actual): ExchangeMessage & { raw: Buffer } {
  const raw = Buffer.alloc(actual);
  for (let i = 0; i < actual; i++) raw[i] = 0x41 + (i % 26);
  return {
    raw,
    size,
    openMessage: () => {
      const parts: Buffer[] = [];
      for (let o = 0; o < raw.length; o += 65536) parts.push(raw.subarray(o, o + 65536));
      return Readable.from(parts);
    },
  };
}

class TestFailure extends Error {
  constructor(readonly failure: ExchangeFailure) {
    super(`[${failure.reason}] ${failure.message}`);
  }
}

/** A line-based exchange: the reply is complete at its first newline. */
function lineExchange(port: number, over: Partial<SocketExchange<string>> = {}): SocketExchange<string> {
  return {
    connect: () => connectSocket({ kind: 'tcp', host: '127.0.0.1', port }),
    connectTimeoutMs: 1000,
    signal: AbortSignal.timeout(5000),
    maxReply: 1024,
    peer: 'testd',
    send: async (out) => {
      await out.write(Buffer.from('HELLO\n'));
      out.end();
    },
    parse: (reply, ended) => {
      const text = reply.toString('latin1');
      return ended || text.includes('\n') ? text.trim() : undefined;
    },
    error: (f) => new TestFailure(f),
    ...over,
  };
}

/**
 * A server that reads the first octets, answers `reply` (if any), stops
 * reading, and closes 100 ms later with our data unread: its kernel resets
 * the connection while we are still writing.
 */
function closesEarly(reply?: string): (socket: net.Socket) => void {
  return (socket) => {
    socket.once('data', () => {
      socket.pause();
      if (reply !== undefined) socket.write(reply);
      setTimeout(() => socket.destroy(), 100);
    });
  };
}

/** A request head, then the message. */
function sendMessage(msg: ExchangeMessage): SocketExchange<string>['send'] {
  return async (out) => {
    await out.write(Buffer.from('MSG\n'));
    await out.writeMessage(msg);
  };
}

function failure(reason: ExchangeFailure['reason'], message: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof TestFailure, String(err));
    assert.equal(err.failure.reason, reason);
    assert.match(err.failure.message, message);
    return true;
  };
}

test('success: the request and a message of exactly its size arrive, each piece encoded; the reply is parsed', async () => {
  const srv = await server((socket, got) => {
    socket.on('data', () => {
      const all = got();
      if (all.length === 4 + 200_000 * 2) socket.end('OK 200000\n');
    });
  });
  try {
    const msg = message(200_000);
    const reply = await socketExchange(
      lineExchange(srv.port, {
        send: async (out) => {
          await out.write(Buffer.from('MSG\n'));
          // Every octet twice: the encoding is the caller's.
          await out.writeMessage(msg, (piece) => [piece, piece]);
        },
      }),
    );
    assert.equal(reply, 'OK 200000');
    const got = srv.received[0] ?? Buffer.alloc(0);
    assert.equal(got.subarray(0, 4).toString(), 'MSG\n');
    assert.equal(got.length, 4 + 400_000);
    await srv.closed[0];
  } finally {
    await srv.close();
  }
});

test('connect timeout: a socket that never connects fails as "connect" at the deadline', async () => {
  const started = Date.now();
  await assert.rejects(
    socketExchange(lineExchange(1, { connect: () => new net.Socket(), connectTimeoutMs: 100 })),
    failure('connect', /^connect timeout after 100 ms$/),
  );
  const took = Date.now() - started;
  assert.ok(took >= 95 && took < 1000, `took ${took} ms`);
});

test('connect refused: fails as "connect" naming the error', async () => {
  const srv = await server(() => undefined);
  const { port } = srv;
  await srv.close();
  await assert.rejects(
    socketExchange(lineExchange(port)),
    failure('connect', /^connect failed: .*ECONNREFUSED/),
  );
});

test("abort: the caller's signal ends the exchange with its reason and closes the connection", async () => {
  const srv = await server(() => undefined); // accepts, never answers
  try {
    const controller = new AbortController();
    const p = socketExchange(
      lineExchange(srv.port, {
        signal: controller.signal,
        send: (out) => out.write(Buffer.from('HELLO\n')), // no half-close: the server waits too
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
    const reason = new Error('deadline');
    controller.abort(reason);
    await assert.rejects(p, (err) => err === reason);
    await srv.closed[0];
    // Aborted before it starts: no connection at all.
    let connects = 0;
    await assert.rejects(
      socketExchange(
        lineExchange(srv.port, {
          signal: controller.signal,
          connect: () => {
            connects++;
            return new net.Socket();
          },
        }),
      ),
      (err) => err === reason,
    );
    assert.equal(connects, 0);
  } finally {
    await srv.close();
  }
});

test('a reply that arrived wins over the write error after the server closed early', async () => {
  const srv = await server(closesEarly('TOO LARGE\n'));
  try {
    const msg = message(32 * 1024 * 1024);
    const socketErrors: Error[] = [];
    const reply = await socketExchange(
      lineExchange(srv.port, {
        connect: () => {
          const s = connectSocket({ kind: 'tcp', host: '127.0.0.1', port: srv.port });
          s.on('error', (err) => socketErrors.push(err));
          return s;
        },
        send: sendMessage(msg),
        // Complete only at the end, so the reset comes first: the reply must still win.
        parse: (reply, ended) => (ended ? reply.toString('latin1').trim() : undefined),
      }),
    );
    assert.equal(reply, 'TOO LARGE');
    assert.ok((srv.received[0]?.length ?? 0) < msg.size, 'the server stopped reading early');
    assert.match(
      socketErrors[0]?.message ?? '',
      /ECONNRESET|EPIPE/,
      'the connection was reset under the writes',
    );
  } finally {
    await srv.close();
  }
});

test('server closes early without a reply: a failure with the octets sent, never a result', async () => {
  const reset = await server(closesEarly());
  const quiet = await server((socket) => {
    socket.once('data', () => socket.end());
  });
  try {
    const msg = message(32 * 1024 * 1024);
    await assert.rejects(
      socketExchange(lineExchange(reset.port, { send: sendMessage(msg) })),
      (err: unknown) => {
        assert.ok(err instanceof TestFailure);
        assert.ok(['broken', 'no-reply'].includes(err.failure.reason), err.message);
        assert.ok(err.failure.sent > 0 && err.failure.sent < msg.size, `sent ${err.failure.sent}`);
        return true;
      },
    );
    // A clean close (FIN) with no reply at all.
    await assert.rejects(
      socketExchange(lineExchange(quiet.port)),
      failure('no-reply', /^testd closed the connection without a reply$/),
    );
  } finally {
    await reset.close();
    await quiet.close();
  }
});

test('reply too large: fails as "too-large" once it grows over maxReply', async () => {
  const srv = await server((socket) => {
    socket.once('data', () => socket.write('x'.repeat(5000)));
  });
  try {
    await assert.rejects(
      socketExchange(lineExchange(srv.port, { maxReply: 4096 })),
      failure('too-large', /^reply larger than 4096 octets$/),
    );
  } finally {
    await srv.close();
  }
});

test('a reply parse refuses fails as "reply" with its message and cause', async () => {
  const srv = await server((socket) => {
    socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\n'));
  });
  try {
    await assert.rejects(
      socketExchange(
        lineExchange(srv.port, {
          parse: (reply) => {
            throw new Error(`not a testd reply: ${reply.toString('latin1').trim()}`);
          },
        }),
      ),
      (err: unknown) => {
        assert.ok(err instanceof TestFailure);
        assert.equal(err.failure.reason, 'reply');
        assert.match(err.failure.message, /not a testd reply: HTTP/);
        assert.ok(err.failure.cause instanceof Error);
        return true;
      },
    );
  } finally {
    await srv.close();
  }
});

test('a message stream shorter or longer than its size fails as "send" with MessageLengthError', async () => {
  const srv = await server(() => undefined);
  try {
    const cases: [ExchangeMessage, RegExp][] = [
      [message(100, 150), /^message stream gave 100 octets, size says 150$/],
      [message(100_000, 70_000), /^message stream longer than its size \(70000 octets\)$/],
    ];
    for (const [msg, text] of cases) {
      await assert.rejects(
        socketExchange(lineExchange(srv.port, { send: (out) => out.writeMessage(msg) })),
        (err: unknown) => {
          assert.ok(err instanceof TestFailure);
          assert.equal(err.failure.reason, 'send');
          assert.match(err.failure.message, text);
          assert.ok(err.failure.cause instanceof MessageLengthError);
          return true;
        },
      );
    }
  } finally {
    await srv.close();
  }
});
