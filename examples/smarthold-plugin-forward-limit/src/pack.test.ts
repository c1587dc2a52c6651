/**
 * pack.test.ts — acceptance 2: the packed tarball, installed into a temporary
 * "smarthold installation" without the registry, loads by its short name and
 * rate-limits.
 *
 * `npm pack` this (built) package into a temp dir; create an installation
 * there whose package.json links this checkout's @smarthold/core,
 * @smarthold/plugin-sender-auth and zod (`file:` + `--install-links=false`:
 * symlinks, no better-sqlite3 rebuild) and install the tarball `--offline`.
 * Then run the real CLI (`smarthold start -c smarthold.toml`, cwd = the
 * installation) with `plugins = ["sender-auth", "forward-limit"]` and a limit
 * of 2, send 3 forwarded messages over SMTP and check that the 3rd is held
 * while the first two reach the relay. Every step has a deadline; the temp
 * directory is removed afterwards.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { type CaptureSink, loadPlugin, queueIdOf, sendMail, startCaptureSink } from '@smarthold/core';

const here = path.dirname(fileURLToPath(import.meta.url)); // .../examples/smarthold-plugin-forward-limit/dist
const pkgDir = path.resolve(here, '..');
const repo = path.resolve(pkgDir, '../..');
const cliMain = path.join(repo, 'packages/cli/dist/main.js');
const linkOf = (name: string) => realpathSync(path.join(repo, 'node_modules', name));

function run(cmd: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd, timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => {
        resolve(port);
      });
    });
  });
}

async function waitHealthy(
  port: number,
  proc: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`smarthold exited with ${proc.exitCode}:\n${output()}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end)
      throw new Error(`smarthold did not become healthy in ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const forwarded = (n: number) =>
  `Delivered-To: alice@isp.example\r\nFrom: <spammer@bad.example>\r\nTo: <alice@isp.example>\r\nSubject: forwarded ${n}\r\n\r\nbody ${n}\r\n`;

describe('the packed tarball in a temporary installation', { timeout: 120_000 }, () => {
  let tmp: string;
  let inst: string;
  let sink: CaptureSink;
  let proc: ChildProcess | undefined;
  let out = '';
  let httpPort = 0;
  let smtpPort = 0;

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'forward-limit-pack-'));
    inst = path.join(tmp, 'install');
    mkdirSync(inst);
    const packed = JSON.parse(
      await run('npm', ['pack', '--json', '--pack-destination', tmp], pkgDir, 60_000),
    ) as { filename: string }[];
    const tarball = path.join(tmp, packed[0]?.filename ?? 'missing.tgz');
    writeFileSync(
      path.join(inst, 'package.json'),
      JSON.stringify({
        name: 'smarthold-installation',
        version: '0.0.0',
        private: true,
        dependencies: {
          '@smarthold/core': `file:${path.join(repo, 'packages/core')}`,
          '@smarthold/plugin-sender-auth': `file:${path.join(repo, 'packages/plugin-sender-auth')}`,
          zod: `file:${linkOf('zod')}`,
        },
      }),
    );
    await run(
      'npm',
      [
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        '--install-links=false',
        '--ignore-scripts',
        '--no-package-lock',
        tarball,
      ],
      inst,
      90_000,
    );
    sink = await startCaptureSink();
    smtpPort = await freePort();
    httpPort = await freePort();
    writeFileSync(
      path.join(inst, 'smarthold.toml'),
      `plugins = ["sender-auth", "forward-limit"]

[smtp]
listen = ["127.0.0.1:${smtpPort}"]
hostname = "smarthold.test"

[http]
listen = "127.0.0.1:${httpPort}"

[store]
dir = ${JSON.stringify(path.join(inst, 'var'))}

[log]
level = "warn"

[delivery]
poll_interval = "100ms"
relay = { host = "127.0.0.1", port = ${sink.port}, tls = "none" }

[plugin.sender-auth]
our_domains = ["isp.example"]
check_every_message = false

[plugin.forward-limit]
max_messages = 2
window = "1h"
window_mode = "fixed"
`,
    );
  });

  after(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc?.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    await sink.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the short name resolves from the installation, not from the checkout', async () => {
    const loaded = await loadPlugin('forward-limit', inst, [inst]);
    assert.equal(loaded.manifest.name, 'forward-limit');
    assert.ok(
      loaded.source.startsWith(path.join(inst, 'node_modules', 'smarthold-plugin-forward-limit')),
      loaded.source,
    );
  });

  test('smarthold started there holds the N+1th forwarded message', async () => {
    const p = spawn(process.execPath, [cliMain, 'start', '-c', 'smarthold.toml'], {
      cwd: inst,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc = p;
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    await waitHealthy(httpPort, p, () => out, 30_000);

    const ids: string[] = [];
    for (let n = 1; n <= 3; n++) {
      const r = await sendMail(smtpPort, 'spammer@bad.example', ['friend@gmail.example'], forwarded(n));
      assert.equal(r.code, 250, r.text);
      ids.push(queueIdOf(r) ?? '');
    }
    const other = await sendMail(
      smtpPort,
      'spammer@bad.example',
      ['friend@gmail.example'],
      forwarded(4).replace('alice@', 'bob@'),
    );
    assert.equal(other.code, 250, other.text);

    const got = await sink.waitFor(3, 15_000);
    assert.deepEqual(got.map((m) => /Subject: (.*)/.exec(m.raw.toString())?.[1]?.trim()).sort(), [
      'forwarded 1',
      'forwarded 2',
      'forwarded 4',
    ]);

    const top = (await (
      await fetch(`http://127.0.0.1:${httpPort}/forward-limit/top`, { signal: AbortSignal.timeout(5000) })
    ).json()) as {
      top: { mailbox: string; count: number; over: boolean }[];
    };
    assert.deepEqual(top.top[0], {
      mailbox: 'alice@isp.example',
      count: 3,
      previous: 0,
      estimate: 3,
      over: true,
    });

    const shown = await run(
      process.execPath,
      [cliMain, 'queue', 'show', '--json', '-c', 'smarthold.toml', ids[2] ?? ''],
      inst,
      30_000,
    );
    const rec = JSON.parse(shown) as { recipients: { state: string }[] };
    assert.deepEqual(
      rec.recipients.map((r) => r.state),
      ['hold'],
    );
  });
});
