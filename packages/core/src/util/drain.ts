/**
 * util/drain.ts — writing to a socket or request with backpressure.
 *
 * The scanner clients stream a message to their daemon and must not buffer
 * it whole in Node's write queue: each write waits for 'drain' when the
 * stream asks it to, and fails when the connection closes first. It does not
 * time out (the callers' deadlines do) or retry.
 */
import type { Writable } from 'node:stream';

/**
 * Writes `data` and resolves when the stream can take more: at once, or at
 * its next 'drain'. Rejects with `closed()` when the stream closes first.
 *
 * @example
 * for (const frame of frames) await writeOrDrain(socket, frame);
 */
export function writeOrDrain(
  stream: Writable,
  data: Buffer,
  closed: () => Error = () => new Error('connection closed while writing'),
): Promise<void> {
  if (stream.write(data)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onDrain = (): void => {
      stream.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      stream.off('drain', onDrain);
      reject(closed());
    };
    stream.once('drain', onDrain);
    stream.once('close', onClose);
  });
}
