/**
 * delivery/data-stream-patch.ts — a fast path for nodemailer's DATA encoder.
 *
 * nodemailer 10.6 sends a message through its DataStream, which dot-stuffs
 * lines, turns bare CR and bare LF into CRLF and adds the final dot, looking
 * at every byte in JavaScript: ~4 µs per KB, the largest single cost of
 * relaying a 100 KB message. Most chunks need none of that (smarthold's own
 * ingress normalises line ends, and lines starting with a dot are rare), and
 * finding out takes two native byte searches. This override passes such a
 * chunk on unchanged, exactly as the library's own code would, and hands any
 * other chunk to the library's code. A chunk of a spooled message (marked by
 * the spool, util/crlf-clean.ts) has no bare line end, so only one search for
 * a line-start dot is left. Pinned to the version it was written for, and
 * data-stream-patch.test.ts checks both paths give the same bytes.
 */
import { createRequire } from 'node:module';
import { isCrlfClean } from '../util/crlf-clean.js';

export const PATCHED_NODEMAILER = '10.6.0';

/** The part of DataStream's instance and prototype used here. */
interface DataStreamLike {
  inByteCount: number;
  outByteCount: number;
  lastByte: number | false;
  push(chunk: Buffer): boolean;
  _transform: (
    this: DataStreamLike,
    chunk: Buffer | string,
    encoding: string,
    done: (err?: Error | null) => void,
  ) => void;
}

type DataStreamClass = (new () => DataStreamLike & NodeJS.ReadWriteStream) & { prototype: DataStreamLike };

const LF = 0x0a;
const LF_DOT = Buffer.from('\n.');
const CR = 0x0d;
const DOT = 0x2e;

/**
 * True when `chunk`, following the byte `prev` (false at the start of the
 * message), has no bare CR, no bare LF and no dot at the start of a line:
 * DataStream would then pass it on as it is.
 */
export function passesUnchanged(chunk: Buffer, prev: number | false): boolean {
  const len = chunk.length;
  if (!len) return true;
  const first = chunk[0];
  if (first === DOT && (prev === LF || prev === false)) return false;
  // The boundary with the previous chunk, which may not be a spooled one (a DSN's own text).
  if (prev === CR ? first !== LF : first === LF) return false;
  // Part of a message with CRLF line ends only (util/crlf-clean.ts): only dots to look for.
  if (isCrlfClean(chunk)) return chunk.indexOf(LF_DOT) === -1;
  for (let p = chunk.indexOf(LF); p !== -1; p = chunk.indexOf(LF, p + 1)) {
    if ((p === 0 ? prev : chunk[p - 1]) !== CR) return false;
    if (chunk[p + 1] === DOT) return false;
  }
  for (let q = chunk.indexOf(CR); q !== -1 && q < len - 1; q = chunk.indexOf(CR, q + 1)) {
    if (chunk[q + 1] !== LF) return false;
  }
  return true;
}

const require = createRequire(import.meta.url);

/** The library's DataStream class (the same module instance its SMTPConnection uses). */
export async function loadDataStream(): Promise<DataStreamClass> {
  const url = new URL('./data-stream.js', import.meta.resolve('nodemailer/lib/smtp-connection'));
  return ((await import(url.href)) as { default: DataStreamClass }).default;
}

export function nodemailerVersion(): string {
  return (require('nodemailer/package.json') as { version: string }).version;
}

let original: DataStreamLike['_transform'] | undefined;

/** The library's own transform, as it was before the override (tests compare against it). */
export function originalTransform(): DataStreamLike['_transform'] | undefined {
  return original;
}

/** Installs the fast path once; throws on another nodemailer version. */
export async function patchDataStream(): Promise<void> {
  if (original) return;
  const version = nodemailerVersion();
  if (version !== PATCHED_NODEMAILER) {
    throw new Error(
      `smarthold's nodemailer override is for ${PATCHED_NODEMAILER}, found ${version}: review delivery/data-stream-patch.ts`,
    );
  }
  const proto = (await loadDataStream()).prototype;
  const libraryTransform = proto._transform;
  original = libraryTransform;
  proto._transform = function transform(this: DataStreamLike, chunk, encoding, done) {
    if (!Buffer.isBuffer(chunk) || !chunk.length || !passesUnchanged(chunk, this.lastByte)) {
      libraryTransform.call(this, chunk, encoding, done);
      return;
    }
    this.inByteCount += chunk.length;
    this.outByteCount += chunk.length;
    this.push(chunk);
    this.lastByte = chunk[chunk.length - 1] as number;
    done();
  };
}
