/**
 * testing/smtp-client.ts — a plain SMTP client for tests and transcripts.
 *
 * Sends exactly the bytes it is given and reads replies line by line, so a
 * test can check protocol edge cases (pipelining, bare LF, literals) that a
 * well-behaved client library would refuse to produce.
 */
import net from 'node:net';

/** One SMTP reply: code and its lines (text after the code and separator). */
export interface Reply {
  readonly code: number;
  readonly lines: readonly string[];
  /** The raw reply text, lines joined with "\n". */
  readonly text: string;
}

export class SmtpTestClient {
  private buffer = '';
  private readonly replies: Reply[] = [];
  private waiting: ((r: Reply | undefined) => void) | undefined;
  private closedFlag = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      this.parse();
    });
    socket.on('close', () => {
      this.closedFlag = true;
      this.waiting?.(undefined);
      this.waiting = undefined;
    });
    socket.on('error', () => undefined);
  }

  /** Connects to host:port. */
  static connect(port: number, host = '127.0.0.1'): Promise<SmtpTestClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => {
        resolve(new SmtpTestClient(s));
      });
      s.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  private parse(): void {
    for (;;) {
      const lines: string[] = [];
      let pos = 0;
      let done = false;
      for (;;) {
        const nl = this.buffer.indexOf('\r\n', pos);
        if (nl < 0) break;
        const line = this.buffer.slice(pos, nl);
        pos = nl + 2;
        lines.push(line);
        if (line.length < 4 || line[3] !== '-') {
          done = true;
          break;
        }
      }
      if (!done) return;
      this.buffer = this.buffer.slice(pos);
      const code = Number(lines[lines.length - 1]?.slice(0, 3));
      const reply: Reply = { code, lines: lines.map((l) => l.slice(4)), text: lines.join('\n') };
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(reply);
      } else this.replies.push(reply);
    }
  }

  /** The next reply (undefined if the connection closed first). */
  read(timeoutMs = 10_000): Promise<Reply | undefined> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    if (this.closedFlag) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`no SMTP reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = (x) => {
        clearTimeout(t);
        resolve(x);
      };
    });
  }

  /** Writes raw bytes. */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends one command line and reads its reply. */
  async command(line: string, timeoutMs?: number): Promise<Reply | undefined> {
    this.write(line + '\r\n');
    return this.read(timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Dot-stuffs a message and appends the final dot (RFC 5321 §4.5.2). */
export function dataBlock(message: string | Buffer): Buffer {
  const text = Buffer.isBuffer(message) ? message.toString('latin1') : message;
  const body = text.replace(/(^|\r\n)\./g, '$1..');
  return Buffer.from(body + (body.endsWith('\r\n') ? '' : '\r\n') + '.\r\n', 'latin1');
}

/**
 * Sends one whole message and returns the reply to the final dot.
 * Throws if any command before DATA is refused.
 */
export async function sendMail(
  port: number,
  from: string,
  to: readonly string[],
  message: string | Buffer,
): Promise<Reply> {
  const c = await SmtpTestClient.connect(port);
  try {
    const greet = await c.read();
    if (greet?.code !== 220) throw new Error(`greeting: ${greet?.text ?? 'closed'}`);
    const ehlo = await c.command('EHLO test.example');
    if (ehlo?.code !== 250) throw new Error(`EHLO: ${ehlo?.text ?? 'closed'}`);
    const mail = await c.command(`MAIL FROM:<${from}>`);
    if (mail?.code !== 250) return mail ?? { code: 0, lines: [], text: 'closed' };
    let accepted = 0;
    let last: Reply | undefined;
    for (const r of to) {
      last = await c.command(`RCPT TO:<${r}>`);
      if (last?.code === 250) accepted++;
    }
    if (!accepted) return last ?? { code: 0, lines: [], text: 'closed' };
    const data = await c.command('DATA');
    if (data?.code !== 354) return data ?? { code: 0, lines: [], text: 'closed' };
    c.write(dataBlock(message));
    const final = await c.read(60_000);
    await c.command('QUIT').catch(() => undefined);
    return final ?? { code: 0, lines: [], text: 'closed' };
  } finally {
    c.close();
  }
}

/** The queue id in a "250 2.0.0 Ok: queued as ID" reply. */
export function queueIdOf(reply: Reply): string | undefined {
  return /queued as ([0-9A-Z]+)/.exec(reply.text)?.[1];
}
