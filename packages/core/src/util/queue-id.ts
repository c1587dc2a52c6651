/**
 * util/queue-id.ts — queue ids.
 *
 * A queue id is 14 characters of Crockford base32: 9 for the arrival time in
 * milliseconds (so ids sort by arrival, like Postfix's long queue ids) and 5 of
 * randomness. It is safe in file names, URLs and SMTP replies.
 */
import { randomFillSync } from 'node:crypto';

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

/**
 * Random bytes for ids, filled 1 KB at a time: each call to the system's
 * generator is a system call (~6 µs here, tens under load, for 4 bytes).
 */
const pool = Buffer.alloc(1024);
let used = pool.length;

function randomUint32(): number {
  if (used + 4 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const value = pool.readUInt32BE(used);
  used += 4;
  return value;
}

/** A new queue id for a message arriving at `nowMs`. */
export function newQueueId(nowMs: number = Date.now()): string {
  return encode(nowMs, 9) + encode(randomUint32(), 5);
}

/** The time part of ids of messages arriving at `ms`: every id of an earlier arrival sorts before it. */
export function queueIdTimePrefix(ms: number): string {
  return encode(ms, 9);
}

/** True when `id` has the shape of a queue id (guards paths built from ids). */
export function isQueueId(id: string): boolean {
  return /^[0-9BCDFGHJKLMNPQRSTVWXYZ]{14}$/.test(id);
}
