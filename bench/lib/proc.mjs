// bench/lib/proc.mjs — processes for the benchmark: spawn, wait, clean up, measure.
//
// Everything the bench starts is registered here, so that a normal end, a
// failure or Ctrl-C stops it (children by their own pid, never by name) and
// removes the temp directories. The sampler reads /proc for a peer's process
// tree: summed RSS and PSS every 100 ms (peaks kept) and utime+stime over a window,
// counting children that were reaped during the window through their
// parent's cutime/cstime. It does not decide what is measured (run.mjs does).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cleanups = [];
let cleaning = false;

/** Registers a synchronous clean-up step; run last-in first-out by {@link cleanupAll}. */
export function onCleanup(fn) {
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** Runs every registered clean-up step once (synchronous, so it also works from 'exit'). */
export function cleanupAll() {
  if (cleaning) return;
  cleaning = true;
  while (cleanups.length) {
    const fn = cleanups.pop();
    try {
      fn();
    } catch (err) {
      process.stderr.write(`bench: clean-up step failed: ${err?.message ?? err}\n`);
    }
  }
  cleaning = false;
}

/** Installs handlers so that Ctrl-C, SIGTERM, an uncaught error and exit all clean up. */
export function installCleanupHandlers() {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}: stopping everything it started\n`);
      cleanupAll();
      process.exit(130);
    });
  }
  process.on('exit', cleanupAll);
}

let keepTemp = false;

/** With true, temp dirs are left in place at clean-up (for --keep). */
export function keepTempDirs(keep) {
  keepTemp = keep;
}

/** A temp directory removed at clean-up (unless kept). */
export function tempDir(prefix = 'smarthold-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => {
    if (!keepTemp) rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A free TCP port on 127.0.0.1 (asked from the kernel; released before use). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Spawns a long-running child, registered for clean-up (SIGTERM, then SIGKILL
 * to the same pid). Its output goes to `logFile`-less pipes the caller reads,
 * or is ignored.
 */
export function spawnTracked(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const off = onCleanup(() => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const until = Date.now() + 3000;
    while (Date.now() < until && alive(child.pid)) spawnSync('sleep', ['0.05']);
    if (alive(child.pid)) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  child.stopTracked = async (graceMs = 5000) => {
    off();
    if (exited || child.pid === undefined) return;
    const done = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await done;
    clearTimeout(t);
  };
  return child;
}

/** Is a pid alive (and not a zombie)? */
export function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return parseStat(stat).state !== 'Z';
  } catch {
    return false;
  }
}

/** Runs a command to completion and returns { status, stdout, stderr }. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

/** Waits until an SMTP server on 127.0.0.1:port sends a 220 greeting. */
export async function waitForSmtp(port, timeoutMs = 20000, isAlive = () => true) {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    if (!isAlive()) throw new Error(`the process behind port ${port} exited during start-up`);
    const ok = await new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      let buf = '';
      const done = (v) => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(2000, () => done(false));
      s.on('error', (e) => {
        last = e.code ?? e.message;
        done(false);
      });
      s.on('data', (d) => {
        buf += d.toString('latin1');
        if (buf.includes('\n')) {
          last = buf.trim();
          if (buf.startsWith('220')) s.end('QUIT\r\n');
          done(buf.startsWith('220'));
        }
      });
    });
    if (ok) return;
    await sleep(150);
  }
  throw new Error(`no SMTP greeting on 127.0.0.1:${port} after ${timeoutMs} ms (last: ${last})`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The last `n` characters of a log file ('' when there is none). */
export function tailFile(file, n = 3000) {
  try {
    return readFileSync(file, 'utf8').slice(-n);
  } catch {
    return '';
  }
}

/**
 * Starts a peer server process with its output in `logFile`, and waits until
 * it accepts SMTP on `port` (or fails with the log's tail if it exits first).
 * Returns the tracked child and a function telling whether it has exited.
 */
export async function startServer(cmd, args, { cwd, logFile, port, env, timeoutMs = 30000 }) {
  const log = createWriteStream(logFile);
  const child = spawnTracked(cmd, args, { cwd, ...(env ? { env: { ...process.env, ...env } } : {}) });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  try {
    await waitForSmtp(port, timeoutMs, () => !exited);
  } catch (err) {
    await child.stopTracked();
    throw new Error(`${err.message}; see ${logFile}:\n${tailFile(logFile)}`);
  }
  return { child, exited: () => exited };
}

// ---- /proc sampling ----------------------------------------------------------

const CLK_TCK = Number(run('getconf', ['CLK_TCK']).stdout.trim()) || 100;
const PAGE_KB = (Number(run('getconf', ['PAGESIZE']).stdout.trim()) || 4096) / 1024;

function parseStat(text) {
  // The command name is in parentheses and may contain spaces: split after the last ')'.
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); field n is f[n - 3].
  return {
    state: f[0],
    ppid: Number(f[1]),
    utime: Number(f[11]),
    stime: Number(f[12]),
    cutime: Number(f[13]),
    cstime: Number(f[14]),
    starttime: f[19],
    rssPages: Number(f[21]),
  };
}

/** Every live process as pid → parsed stat. */
function allStats() {
  const out = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.set(Number(name), parseStat(readFileSync(`/proc/${name}/stat`, 'utf8')));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** The roots and all their descendants, as key "pid:starttime" → stat. */
function treeSnapshot(roots) {
  const stats = allStats();
  const children = new Map();
  for (const [pid, st] of stats) {
    if (!children.has(st.ppid)) children.set(st.ppid, []);
    children.get(st.ppid).push(pid);
  }
  const out = new Map();
  const todo = roots.filter((p) => stats.has(p));
  while (todo.length) {
    const pid = todo.pop();
    const st = stats.get(pid);
    if (!st || st.state === 'Z') continue;
    out.set(`${pid}:${st.starttime}`, st);
    for (const c of children.get(pid) ?? []) todo.push(c);
  }
  return out;
}

/**
 * Proportional set size of a process: its private pages plus its share of
 * pages shared with others. Summed over a tree of many processes (Postfix)
 * it counts the shared libraries once, where summed RSS counts them per process.
 */
function pssKb(pid) {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const ticks = (st) => st.utime + st.stime;
const childTicks = (st) => st.cutime + st.cstime;

/**
 * Starts measuring a process tree. `roots()` gives the root pids (asked at
 * every sample, since a peer may restart them). `stop()` returns
 * { cpuMs, mainCpuMs (the roots' main threads only: for a Node server, its
 * event loop), peakRssMb, peakPssMb }.
 */
/** utime+stime ticks of each root's main thread (its first task), by pid. */
function mainThreadTicks(pids) {
  const out = new Map();
  for (const pid of pids) {
    try {
      out.set(pid, ticks(parseStat(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'))));
    } catch {
      // gone
    }
  }
  return out;
}

export function startSampler(roots, intervalMs = 100) {
  const start = treeSnapshot(roots());
  const mainStart = mainThreadTicks(roots());
  let peakKb = 0;
  let peakPssKb = 0;
  const sample = () => {
    let kb = 0;
    let pss = 0;
    for (const [key, st] of treeSnapshot(roots())) {
      kb += st.rssPages * PAGE_KB;
      pss += pssKb(Number(key.split(':')[0])) ?? st.rssPages * PAGE_KB;
    }
    if (kb > peakKb) peakKb = kb;
    if (pss > peakPssKb) peakPssKb = pss;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const end = treeSnapshot(roots());
      let t = 0;
      for (const [key, st] of end) {
        const before = start.get(key);
        t += ticks(st) - (before ? ticks(before) : 0);
        t += childTicks(st) - (before ? childTicks(before) : 0);
      }
      // Processes gone by the end were reaped by a parent in the tree, whose
      // cutime now holds their whole life: take off what they had used before.
      for (const [key, st] of start) {
        if (!end.has(key)) t -= ticks(st) + childTicks(st);
      }
      let main = 0;
      for (const [pid, t1] of mainThreadTicks(roots())) main += t1 - (mainStart.get(pid) ?? t1);
      return {
        cpuMs: (Math.max(0, t) * 1000) / CLK_TCK,
        mainCpuMs: (Math.max(0, main) * 1000) / CLK_TCK,
        peakRssMb: peakKb / 1024,
        peakPssMb: peakPssKb / 1024,
      };
    },
  };
}
