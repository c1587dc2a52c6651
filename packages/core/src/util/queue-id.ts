/**
 * util/queue-id.ts — queue ids.
 *
 * A queue id is 14 characters of Crockford base32: 9 for the arrival time in
 * milliseconds (so ids sort by arrival, like Postfix's long queue ids) and 5 of
 * randomness. It is safe in file names, URLs and SMTP replies.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789BCDFGHJKLMNPQRSTVWXYZ'; // no vowels: ids never spell words
const BASE = ALPHABET.length;

function encode(value: number, width: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < width; i++) {
    out = ALPHABET.charAt(v % BASE) + out;
    v = Math.floor(v / BASE);
  }
  return out;
}

/** A new queue id for a message arriving at `nowMs`. */
export function newQueueId(nowMs: number = Date.now()): string {
  const rnd = randomBytes(4).readUInt32BE(0);
  return encode(nowMs, 9) + encode(rnd, 5);
}

/** The time part of ids of messages arriving at `ms`: every id of an earlier arrival sorts before it. */
export function queueIdTimePrefix(ms: number): string {
  return encode(ms, 9);
}

/** True when `id` has the shape of a queue id (guards paths built from ids). */
export function isQueueId(id: string): boolean {
  return /^[0-9BCDFGHJKLMNPQRSTVWXYZ]{14}$/.test(id);
}
