/**
 * smtp/receive.ts — stream the DATA of one message into the spool.
 *
 * On the way it applies the bare-newline policy (RFC 5321 §2.3.8: lines end
 * in CRLF; a bare LF or CR is normalized to CRLF, or flagged for a 550 5.5.2
 * under `reject`, as Postfix's smtpd_forbid_bare_newline does), captures the
 * header block for the hooks, and counts octets. The body is never held whole
 * in memory. It does not decide anything: the caller reads the result.
 */
import type { Readable } from 'node:stream';
import type { HeaderField } from '../plugin/api.js';
import type { SpoolWriter } from '../store/spool.js';
import { parseHeaders } from './headers.js';

const CR = 13;
const LF = 10;
const CRLF = Buffer.from('\r\n');
/** Header blocks larger than this are not parsed further (Postfix's header_size_limit is 100 KiB). */
const MAX_HEADER_BYTES = 1024 * 1024;

/** What receiving found. */
export interface Received {
  /** A bare LF or CR was seen (normalized unless the policy rejects). */
  readonly bareNewline: boolean;
  readonly headers: HeaderField[];
  /** Octets written to the spool, our Received line included. */
  readonly size: number;
}

/** Normalizes line ends in one chunk; `carry` is a CR held back from the previous chunk. */
export class LineEndNormalizer {
  private carryCR = false;
  bare = false;

  /** Returns the normalized bytes of `chunk` (may hold back a final CR). */
  push(chunk: Buffer): Buffer {
    let buf = chunk;
    if (this.carryCR) {
      buf = Buffer.concat([Buffer.from([CR]), chunk]);
      this.carryCR = false;
    }
    if (buf.length && buf[buf.length - 1] === CR) {
      this.carryCR = true;
      buf = buf.subarray(0, buf.length - 1);
    }
    if (!needsFix(buf)) return buf;
    this.bare = true;
    return fix(buf);
  }

  /** Flushes a held-back CR at the end of the message (it was bare). */
  end(): Buffer {
    if (!this.carryCR) return Buffer.alloc(0);
    this.carryCR = false;
    this.bare = true;
    return CRLF;
  }
}

function needsFix(buf: Buffer): boolean {
  for (let i = buf.indexOf(LF); i !== -1; i = buf.indexOf(LF, i + 1))
    if (i === 0 || buf[i - 1] !== CR) return true;
  for (let i = buf.indexOf(CR); i !== -1; i = buf.indexOf(CR, i + 1)) if (buf[i + 1] !== LF) return true;
  return false;
}

function fix(buf: Buffer): Buffer {
  const out = Buffer.allocUnsafe(buf.length * 2);
  let o = 0;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i] as number;
    if (b === CR) {
      out[o++] = CR;
      out[o++] = LF;
      if (buf[i + 1] === LF) i++;
    } else if (b === LF) {
      out[o++] = CR;
      out[o++] = LF;
    } else {
      out[o++] = b;
    }
  }
  return out.subarray(0, o);
}

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * Collects bytes until the blank line that ends the header block. The block
 * is the message up to and including the CRLF of its last header line; a
 * message that starts with an empty line has an empty one. The search runs as
 * if the message began with CRLF (so that case is the same search), looks at
 * the few bytes around each chunk boundary separately, and copies nothing but
 * the block at the end.
 */
export class HeaderCollector {
  private parts: Buffer[] = [];
  /** Message bytes pushed so far. */
  private seen = 0;
  private done = false;
  /** The last (up to 3) bytes of CRLF + the message so far: where a boundary-crossing end starts. */
  private tail: Buffer = CRLF;
  block: Buffer | undefined;

  push(buf: Buffer): void {
    if (this.done || !buf.length) return;
    // Positions below are in CRLF + message: the block ends where the blank line's CRLF begins.
    const tailAt = this.seen + 2 - this.tail.length;
    const across = Buffer.concat([this.tail, buf.subarray(0, 3)]).indexOf(HEADER_END);
    const inside = across === -1 ? buf.indexOf(HEADER_END) : -1;
    if (across !== -1 || inside !== -1) {
      const end = across !== -1 ? tailAt + across : this.seen + 2 + inside;
      this.parts.push(buf.subarray(0, Math.max(0, end - this.seen)));
      this.finish(end);
      return;
    }
    this.parts.push(buf);
    this.seen += buf.length;
    this.tail = buf.length >= 3 ? buf.subarray(buf.length - 3) : Buffer.concat([this.tail, buf]).subarray(-3);
    if (this.seen > MAX_HEADER_BYTES) this.finish();
  }

  /** Ends the block at message offset `end` (default: all that was pushed). */
  finish(end?: number): void {
    if (this.done) return;
    this.done = true;
    const all = Buffer.concat(this.parts);
    this.block = end === undefined ? all : all.subarray(0, end);
    this.parts = [];
  }
}

/**
 * Reads the DATA stream into `writer`, after `prefix` (our Received line).
 * Resolves when the stream has ended and every byte is written (not yet fsync'd).
 */
export async function receiveInto(
  stream: Readable,
  writer: SpoolWriter,
  prefix: Buffer | undefined,
): Promise<Received> {
  const norm = new LineEndNormalizer();
  const headers = new HeaderCollector();
  if (prefix?.length) await writer.write(prefix);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const out = norm.push(chunk);
    headers.push(out);
    if (out.length) await writer.write(out);
  }
  const last = norm.end();
  if (last.length) {
    headers.push(last);
    await writer.write(last);
  }
  headers.finish();
  return {
    bareNewline: norm.bare,
    headers: parseHeaders(headers.block ?? Buffer.alloc(0)),
    size: writer.size,
  };
}
