/**
 * util/crlf-clean.ts — Buffers known to be part of a message whose line ends
 * are all CRLF.
 *
 * Ingress normalises every bare CR or LF to CRLF (or refuses the message), and
 * the spool holds only what ingress wrote, so a body read back from the spool
 * needs no second look for bare line ends. The spool marks what it hands out,
 * and the DATA encoder of the delivery client (delivery/data-stream-patch.ts)
 * then only searches a marked chunk for lines starting with a dot. A chunk may
 * still begin with the LF of a CRLF cut at the previous chunk's end: the mark
 * is about the whole message, not about each chunk alone.
 */
const marked = new WeakSet<Buffer>();

/** Marks `chunk` as part of a message with CRLF line ends only; returns it. */
export function markCrlfClean(chunk: Buffer): Buffer {
  marked.add(chunk);
  return chunk;
}

/** True when `chunk` was marked by markCrlfClean. */
export function isCrlfClean(chunk: Buffer): boolean {
  return marked.has(chunk);
}
