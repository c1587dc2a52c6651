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

/** Collects bytes until the blank line that ends the header block. */
class HeaderCollector {
  private parts: Buffer[] = [];
  private bytes = 0;
  private done = false;
  private tail = Buffer.alloc(0);
  block: Buffer | undefined;

  push(buf: Buffer): void {
    if (this.done || !buf.length) return;
    // Look for CRLF CRLF across the chunk boundary (keep the last 3 bytes of the previous chunk).
    const probe = Buffer.concat([this.tail, buf]);
    const atStart = this.bytes === 0 && probe.subarray(0, 2).equals(CRLF);
    const end = atStart ? 0 : probe.indexOf('\r\n\r\n');
    if (end !== -1) {
      const inThis = end - this.tail.length + (atStart ? 0 : 2);
      this.parts.push(buf.subarray(0, Math.max(0, inThis)));
      this.finish();
      return;
    }
    this.parts.push(buf);
    this.bytes += buf.length;
    this.tail = probe.subarray(Math.max(0, probe.length - 3));
    if (this.bytes > MAX_HEADER_BYTES) this.finish();
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    this.block = Buffer.concat(this.parts);
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
