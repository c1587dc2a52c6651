// bench/lib/machine.mjs — what the numbers were measured on.
//
// CPU model and count, memory, kernel, Node, and how long one 4 KB write +
// fsync takes in the temp dir (the price of durability, which decides much
// of what a durable MTA can do): written into every result file, since
// absolute figures only mean something next to them. The peers' versions
// come from the peer modules, not from here.
import { cpus, totalmem, release, type, loadavg } from 'node:os';
import { closeSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Median and p99 of `n` times (4 KB append + fsync) in dir, in ms. */
export function fsyncProbe(dir, n = 200) {
  const file = join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(4096, 'x');
  const t = [];
  try {
    for (let i = 0; i < n; i++) {
      const a = performance.now();
      writeSync(fd, buf);
      fsyncSync(fd);
      t.push(performance.now() - a);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  t.sort((x, y) => x - y);
  const r = (x) => Math.round(x * 1000) / 1000;
  return { p50Ms: r(t[Math.floor(n / 2)]), p99Ms: r(t[Math.floor(n * 0.99)]) };
}

export function machine(dir) {
  const c = cpus();
  let model = c[0]?.model?.trim() ?? 'unknown';
  try {
    const m = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) model = m[1].trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  return {
    cpu: model,
    cores: c.length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${type()} ${release()}`,
    node: process.version,
    loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    ...(dir ? { fsync4k: fsyncProbe(dir) } : {}),
  };
}
