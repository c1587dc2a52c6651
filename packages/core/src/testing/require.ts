/**
 * testing/require.ts — "this test needs service X": skip, or fail under CI.
 *
 * Tests that need a real peer (spamd, rspamd, PostgreSQL, smtp-sink, chromium)
 * call `needService`. Normally a missing peer skips the test with a reason;
 * with SMARTHOLD_TEST_REQUIRE=all (as .ci/run sets) it fails instead, so CI
 * can never pass by skipping. SMARTHOLD_TEST_REQUIRE may also list names
 * ("spamd,rspamd").
 */
import net from 'node:net';

/** True when missing services must fail rather than skip. */
export function serviceRequired(name: string): boolean {
  const req = process.env['SMARTHOLD_TEST_REQUIRE'] ?? '';
  if (req === 'all') return true;
  return req
    .split(',')
    .map((s) => s.trim())
    .includes(name);
}

/** Resolves true when something accepts TCP connections at host:port within `timeoutMs`. */
export function tcpReachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

/**
 * Checks a service for a test. Returns `false` when the test should run, or a
 * skip reason. Throws when the service is missing but required.
 *
 * @example
 * test('spamd says GTUBE is spam', async (t) => {
 *   const skip = await needService('spamd', () => tcpReachable('127.0.0.1', 17830));
 *   if (skip) return t.skip(skip);
 *   ...
 * });
 */
export async function needService(name: string, probe: () => Promise<boolean>): Promise<false | string> {
  const ok = await probe().catch(() => false);
  if (ok) return false;
  const reason = `${name} is not reachable (start it with the commands in .ci/run)`;
  if (serviceRequired(name)) throw new Error(`${reason}; SMARTHOLD_TEST_REQUIRE demands it`);
  return reason;
}
