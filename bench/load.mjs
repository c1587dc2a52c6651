// bench/load.mjs — the throughput load: Postfix's smtp-source against a peer.
//
// smtp-source (C, one process, cheap on CPU) sends `count` copies of a
// message file over `conns` parallel sessions, a new connection per message
// by default or with -d over the same connections (connection reuse). It
// exits non-zero at the first reply it did not expect (a 4xx/5xx), which
// fails the measurement. "Accepted msg/s" is count / its wall time: every
// message had its 250 after DATA by then. Spawned asynchronously so that
// the /proc sampler keeps running meanwhile. It does not measure delivery
// (sink.mjs) or per-message latency (latency.mjs).
import { spawn } from 'node:child_process';
import { onCleanup } from './lib/proc.mjs';

/**
 * Runs smtp-source once.
 * @param {{ bin: string, port: number, conns: number, count: number, file: string, reuse: boolean, from: string, to: string, timeoutMs: number }} o
 * @returns {Promise<{ ok: boolean, wallMs: number, startedAt: number, error?: string }>}
 */
export function runSource(o) {
  const args = ['-s', String(o.conns), '-m', String(o.count), '-F', o.file];
  args.push('-f', o.from, '-t', o.to, '-M', 'client.bench.test');
  if (o.reuse) args.push('-d');
  args.push(`127.0.0.1:${o.port}`);
  return new Promise((resolve) => {
    const startedAt = performance.now();
    const child = spawn(o.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const off = onCleanup(() => child.kill('SIGKILL'));
    const timer = setTimeout(() => {
      out += `\nsmtp-source still running after ${o.timeoutMs} ms: killed`;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.on('exit', (code, signal) => {
      const wallMs = performance.now() - startedAt;
      clearTimeout(timer);
      off();
      const ok = code === 0;
      resolve({
        ok,
        wallMs,
        startedAt,
        ...(ok ? {} : { error: `smtp-source exited ${code ?? signal}: ${out.trim().slice(-600)}` }),
      });
    });
  });
}
