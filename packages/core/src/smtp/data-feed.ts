/**
 * smtp/data-feed.ts — the DATA-mode byte feed of smtp-server's SMTPStream,
 * with native byte searches.
 *
 * smtp-server 3.21.6 finds the end of DATA and the escape dots (RFC 5321
 * §4.5.2) by looking at every byte in JavaScript, and hands each part after an
 * escape dot to the next turn of the event loop: ~230 µs of the event loop
 * for a 100 KB message. Both only happen where a line starts with a dot, so
 * `Buffer.indexOf("\n.")` finds the places to look at (~15 µs for 100 KB).
 *
 * The rules are the library's, position for position, and
 * data-feed.test.ts checks that both give the same bytes, the same end of
 * DATA and the same commands afterwards for random inputs cut at random
 * places:
 *  - the up to 4 bytes at the end of a chunk that could start a terminator or
 *    an escape are kept for the next one (`_lastBytes`);
 *  - at the start of DATA (`_atDataStart`), ".\r\n" ends it and ".." loses
 *    its first dot; a dot after LF (bare or not) followed by a dot is an
 *    escape; "\r\n.\r\n" ends DATA, and the CRLF before it is content;
 *  - a chunk's content goes to the data stream in one write where the
 *    library made one, and the end-of-chunk write waits for 'drain'.
 * What differs: the parts around escape dots are written in the same turn
 * (the library waited a turn after each).
 */
import type { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

/** The library's private fields and methods the feed uses (the .d.ts declares them). */
type Feeder = Pick<
  SMTPStream,
  '_dataStream' | '_lastBytes' | '_atDataStart' | '_countDataBytes' | '_endDataMode'
>;

const LF_DOT = Buffer.from('\n.');
const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** SMTPStream.prototype._feedDataStream's replacement: processes one chunk in DATA mode. */
export function feedDataStream(this: Feeder, input: Buffer, done: (err?: Error | null) => void): void {
  // Only called in data mode, which always has a stream.
  const stream = this._dataStream as NonNullable<Feeder['_dataStream']>;
  let chunk = input;
  if (this._lastBytes && this._lastBytes.length) {
    chunk = Buffer.concat([this._lastBytes, chunk], this._lastBytes.length + chunk.length);
    this._lastBytes = false;
  }
  let len = chunk.length;
  if (this._atDataStart && len >= 3 && chunk[0] === DOT && chunk[1] === CR && chunk[2] === LF) {
    this._endDataMode(false, chunk.subarray(3), done);
    return;
  }
  if (this._atDataStart && len >= 2 && chunk[0] === DOT && chunk[1] === DOT) {
    chunk = chunk.subarray(1);
    len--;
    // The escape dot is consumed payload: from now on a leading dot is content, never an end.
    this._atDataStart = false;
  }
  // `start`: the first byte not yet written; a dot at line start is looked at at positions
  // 2 .. len-3 (the library's loop), so the LF before it is searched for from 1 to len-4.
  let start = 0;
  for (let lf = chunk.indexOf(LF_DOT, 1); lf !== -1 && lf <= len - 4; lf = chunk.indexOf(LF_DOT, lf + 1)) {
    const dot = lf + 1;
    if (chunk[lf - 1] === CR && chunk[dot + 1] === CR && chunk[dot + 2] === LF) {
      // "\r\n.\r\n": everything before the dot is content, the CRLF ending the last line included.
      const last = chunk.subarray(start, dot);
      this._countDataBytes(last.length);
      this._endDataMode(last, chunk.subarray(dot + 3), done);
      return;
    }
    if (chunk[dot + 1] === DOT) {
      // An escape dot: write what comes before it, drop it, go on after the dot it escapes.
      const part = chunk.subarray(start, dot);
      this._countDataBytes(part.length);
      if (stream.writable) stream.write(part);
      start = dot + 1;
      lf = dot + 1;
    }
  }
  // Keep the last bytes (they may begin a terminator or an escape) and write the rest.
  const keep = Math.max(start, len - 4);
  this._lastBytes = chunk.subarray(keep);
  if (keep <= start) {
    done();
    return;
  }
  const rest = chunk.subarray(start, keep);
  this._countDataBytes(rest.length);
  if (!stream.writable) {
    done();
    return;
  }
  if (stream.write(rest) || stream.destroyed) {
    done();
    return;
  }
  // A stream that the application destroys never drains, it only closes.
  const onDrain = (): void => {
    stream.removeListener('drain', onDrain);
    stream.removeListener('close', onDrain);
    done();
  };
  stream.once('drain', onDrain);
  stream.once('close', onDrain);
}
