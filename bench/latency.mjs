// bench/latency.mjs — a small SMTP client that times the final dot.
//
// smtp-source does not report per-message times, so a shorter pass with this
// client measures, for each message, the time from handing "\r\n.\r\n" to the
// kernel (the write callback of the last chunk, which carries the end of the
// body and the dot together) to the reply line. That is the time the peer
// needs to make the message durable and answer: what its client waits for.
// `conns` loops run in parallel, each sending its share sequentially, with a
// new connection per message or one connection for all (reuse). It speaks
// plain SMTP without pipelining, like smtp-source. It does not count
// deliveries; a reply other than 250 fails the pass.
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';

/** Message file (LF lines) → dot-stuffed CRLF bytes ending in CRLF.CRLF. */
export function toWire(file) {
  const lines = readFileSync(file, 'latin1').replace(/\n$/, '').split('\n');
  const body = lines.map((l) => (l.startsWith('.') ? '.' + l : l)).join('\r\n');
  return Buffer.from(body + '\r\n.\r\n', 'latin1');
}

class Session {
  constructor(port) {
    this.sock = connect({ host: '127.0.0.1', port });
    this.sock.setNoDelay(true);
    this.buf = '';
    this.waiting = undefined;
    this.sock.on('data', (d) => {
      this.buf += d.toString('latin1');
      this.drain();
    });
    this.sock.on('error', (e) => this.fail(e));
    this.sock.on('close', () => this.fail(new Error('connection closed by the peer')));
  }
  fail(err) {
    const w = this.waiting;
    this.waiting = undefined;
    if (w) w.reject(err);
    this.error ??= err;
  }
  drain() {
    // A reply is complete at a line "NNN " (the last line of a multi-line reply).
    const m = /(^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(this.buf);
    if (!m || !this.waiting) return;
    const end = m.index + m[0].length;
    const reply = this.buf.slice(0, end);
    this.buf = this.buf.slice(end);
    const w = this.waiting;
    this.waiting = undefined;
    w.resolve({ code: Number(m[2]), text: reply.trim(), at: performance.now() });
  }
  reply() {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.drain();
    });
  }
  async cmd(line, expect) {
    this.sock.write(line + '\r\n');
    return this.expect(expect, line);
  }
  async expect(code, what) {
    const r = await this.reply();
    if (r.code !== code) throw new Error(`${what}: expected ${code}, got ${r.text.slice(0, 300)}`);
    return r;
  }
  async data(wire) {
    await this.cmd('DATA', 354);
    let sentAt = 0;
    const replied = this.reply();
    this.sock.write(wire, () => {
      sentAt = performance.now();
    });
    const r = await replied;
    if (r.code !== 250) throw new Error(`end of data: ${r.text.slice(0, 300)}`);
    // The reply cannot precede the write callback by more than a tick; guard anyway.
    return Math.max(0, r.at - (sentAt || r.at));
  }
  close() {
    this.sock.removeAllListeners('close');
    this.sock.end('QUIT\r\n');
    this.sock.destroy();
  }
}

async function transaction(s, wire, from, to) {
  await s.cmd(`MAIL FROM:<${from}>`, 250);
  await s.cmd(`RCPT TO:<${to}>`, 250);
  return s.data(wire);
}

async function open(port) {
  const s = new Session(port);
  await s.expect(220, 'greeting');
  await s.cmd('EHLO client.bench.test', 250);
  return s;
}

/**
 * Sends `count` messages over `conns` parallel loops and returns the
 * final-dot-to-reply times in ms.
 * @param {{ port: number, conns: number, count: number, file: string, reuse: boolean, from: string, to: string, timeoutMs: number }} o
 */
export async function latencyPass(o) {
  const wire = toWire(o.file);
  const times = [];
  let next = 0;
  const loop = async () => {
    let s;
    try {
      while (next < o.count) {
        next++;
        if (!s) s = await open(o.port);
        times.push(await transaction(s, wire, o.from, o.to));
        if (!o.reuse) {
          await s.cmd('QUIT', 221).catch(() => {});
          s.close();
          s = undefined;
        }
      }
    } finally {
      s?.close();
    }
  };
  let timer;
  const overrun = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`latency pass still running after ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: o.conns }, loop)), overrun]);
  } finally {
    clearTimeout(timer);
  }
  return times;
}

/** The q-quantile (0..1) of a list of numbers, nearest rank. */
export function quantile(xs, q) {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** Sends one message on a new connection and returns the reply to the final dot. */
export async function sendOne({ port, file, from, to }) {
  const s = await open(port);
  try {
    await s.cmd(`MAIL FROM:<${from}>`, 250);
    await s.cmd(`RCPT TO:<${to}>`, 250);
    await s.cmd('DATA', 354);
    s.sock.write(toWire(file));
    return (await s.reply()).text;
  } finally {
    s.close();
  }
}
