/**
 * test-process.ts — run the smarthold command as a user does, for tests.
 *
 * Temporary directories (removed by `cleanup()`), a config file with fast
 * retries and ephemeral ports, a child process whose SMTP port is read from
 * its "smarthold started" log line, signals, and one-shot CLI calls. Not
 * published (dist/**\/test-* is excluded).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Spool } from '@smarthold/core';

export const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.js');
const dirs: string[] = [];

/** A new temporary directory, removed by {@link cleanup}. */
/** The single spool file of a message of the instance whose config `config()` wrote in `dir`. */
export function spoolFile(dir: string, id: string): string {
  return new Spool(path.join(dir, 'var', 'spool')).pathOf(id);
}

export function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'smarthold-cli-'));
  dirs.push(d);
  return d;
}

/** Removes every directory {@link tmp} made. */
export function cleanup(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Runs `smarthold ARGS` to completion. */
export function cli(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Running {
  readonly child: ChildProcess;
  readonly smtpPort: number;
  /** Log lines so far (stdout JSON lines and stderr chunks). */
  readonly log: string[];
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `smarthold start -c FILE`; resolves once it logged "smarthold started". */
export function startProcess(configFile: string): Promise<Running> {
  const child = spawn(process.execPath, [MAIN, 'start', '-c', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => {
      reject(new Error(`smarthold did not start:\n${log.join('\n')}`));
    }, 20_000);
    child.stderr.on('data', (d: Buffer) => log.push(d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        log.push(line);
        if (line.includes('"smarthold started"')) {
          clearTimeout(t);
          const j = JSON.parse(line) as { smtp: { port: number }[] };
          resolve({
            child,
            smtpPort: j.smtp[0]?.port ?? 0,
            log,
            exited,
            stop(signal = 'SIGTERM') {
              if (child.exitCode === null && child.signalCode === null) child.kill(signal);
              return exited;
            },
          });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`smarthold exited ${String(code)}:\n${log.join('\n')}`));
    });
  });
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => {
        resolve(p);
      });
    });
  });
}

/** Writes DIR/smarthold.toml relaying to 127.0.0.1:relayPort with fast retries; `extra` is appended. */
export function config(dir: string, relayPort: number, extra = ''): string {
  const file = path.join(dir, 'smarthold.toml');
  writeFileSync(
    file,
    `[smtp]\nlisten = ["127.0.0.1:0"]\nhostname = "smarthold.test"\n[http]\nlisten = "127.0.0.1:0"\n` +
      `[delivery]\nretry_min = "200ms"\nretry_max = "500ms"\npoll_interval = "100ms"\n` +
      `[delivery.relay]\nhost = "127.0.0.1"\nport = ${relayPort}\ntls = "none"\n${extra}`,
  );
  return file;
}
