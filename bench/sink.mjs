// bench/sink.mjs — the next hop: Postfix's smtp-sink, counting what arrives.
//
// One sink per peer for the whole run, on its own port, so that its counter
// only ever counts that peer's deliveries. smtp-sink -c prints
// "sess=N quit=N mesg=N\r" whenever a message ends with "."; we read that
// line as it comes and keep the count and the time of its last change. A
// measurement asks for the count before it starts and waits until the count
// has grown by the number of messages sent ("every message must arrive").
// It does not store or check message content.
import { spawnTracked, waitForSmtp } from './lib/proc.mjs';

/**
 * Starts smtp-sink on 127.0.0.1:port.
 * @returns {Promise<{ port: number, pid: number, count: () => number, waitFor: (target: number, timeoutMs: number) => Promise<number|undefined>, stop: () => Promise<void> }>}
 */
export async function startSink(bin, port) {
  // -u nobody: smtp-sink refuses to run as root without it. Backlog 1024 so a
  // burst of 50 new connections is never refused.
  const child = spawnTracked(bin, ['-c', '-u', 'nobody', `127.0.0.1:${port}`, '1024']);
  let count = 0;
  let lastArrival = 0;
  let pending = '';
  const waiters = new Set();
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d.toString();
  });
  child.stdout.on('data', (d) => {
    const now = performance.now();
    pending += d.toString('latin1');
    const parts = pending.split('\r');
    pending = parts.pop() ?? '';
    for (const p of parts) {
      const m = /mesg=(\d+)/.exec(p);
      if (!m) continue;
      const n = Number(m[1]);
      if (n !== count) {
        count = n;
        lastArrival = now;
      }
    }
    for (const w of waiters) w();
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
    for (const w of waiters) w();
  });
  try {
    await waitForSmtp(port, 10000, () => !exited);
  } catch (err) {
    throw new Error(`smtp-sink did not start: ${err.message} ${stderr.trim()}`);
  }
  // The probe connection counts as a session, not as a message: nothing to reset.
  return {
    port,
    pid: child.pid,
    count: () => count,
    /** performance.now() of the latest arrival. */
    lastArrival: () => lastArrival,
    /** Resolves with the arrival time once count ≥ target, or undefined after timeoutMs. */
    waitFor(target, timeoutMs) {
      return new Promise((resolve) => {
        const check = () => {
          if (count >= target) finish(lastArrival);
          else if (exited) finish(undefined);
        };
        const finish = (v) => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(v);
        };
        const timer = setTimeout(() => finish(undefined), timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop: () => child.stopTracked(),
  };
}
