/**
 * protocol.ts — clamd's INSTREAM framing and replies, as pure functions.
 *
 * clamd (clamd(8), "INSTREAM"): the client sends `zINSTREAM\0`, then the
 * data as chunks, each `<length><data>` with the length as 4 octets in
 * network byte order, and a zero-length chunk to end the stream. With the
 * `z` prefix each reply is terminated by NUL: `stream: OK`,
 * `stream: <NAME> FOUND` (more than one with AllMatchScanning), or
 * `<text> ERROR` (e.g. `INSTREAM size limit exceeded. ERROR`). `zPING\0`
 * answers `PONG`. This file builds and parses; it does no I/O.
 */

/** The commands we send: nothing else (no SCAN of server paths, no session). */
export const INSTREAM_COMMAND = Buffer.from('zINSTREAM\0', 'latin1');
export const PING_COMMAND = Buffer.from('zPING\0', 'latin1');
/** The zero-length chunk that ends a stream. */
export const END_OF_STREAM = Buffer.alloc(4);

/** clamd's answer to one INSTREAM. */
export type ClamdReply =
  | { readonly kind: 'clean' }
  | { readonly kind: 'found'; readonly viruses: readonly string[] }
  | { readonly kind: 'size-limit'; readonly text: string }
  | { readonly kind: 'error'; readonly text: string };

/** The 4-octet big-endian length prefix of a chunk. */
export function chunkHeader(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length);
  return b;
}

/** Splits a buffer into INSTREAM frames of at most `max` data octets (header + data pairs). */
export function* frames(data: Buffer, max: number): Generator<Buffer> {
  for (let off = 0; off < data.length; off += max) {
    const part = data.subarray(off, Math.min(off + max, data.length));
    yield chunkHeader(part.length);
    yield part;
  }
}

/** The reply lines received so far (NUL- or newline-terminated); `complete` when the last is terminated. */
export function replyLines(buf: Buffer): { lines: string[]; complete: boolean } {
  const text = buf.toString('latin1');
  const parts = text.split(/\0|\n/);
  const complete = parts.at(-1) === '';
  return { lines: parts.map((l) => l.trim()).filter((l) => l !== ''), complete };
}

/**
 * Parses clamd's reply to an INSTREAM (all its lines). Throws on text that is
 * no clamd reply.
 *
 * @example
 * parseReply(['stream: Eicar-Signature FOUND']) // { kind: 'found', viruses: ['Eicar-Signature'] }
 */
export function parseReply(lines: readonly string[]): ClamdReply {
  const viruses: string[] = [];
  let clean = false;
  for (const line of lines) {
    if (/ ERROR$/.test(line)) {
      const text = line.replace(/ ERROR$/, '');
      return /size limit exceeded/i.test(text) ? { kind: 'size-limit', text } : { kind: 'error', text };
    }
    // "stream: NAME FOUND"; older clamd and some proxies answer without the "stream:" label.
    const found = /^(?:stream: )?(.+) FOUND$/.exec(line);
    if (found?.[1]) {
      viruses.push(found[1]);
      continue;
    }
    if (/^(?:stream: )?OK$/.test(line)) {
      clean = true;
      continue;
    }
    throw new Error(`not a clamd reply: ${JSON.stringify(line.slice(0, 200))}`);
  }
  if (viruses.length) return { kind: 'found', viruses };
  if (clean) return { kind: 'clean' };
  throw new Error('empty reply');
}
