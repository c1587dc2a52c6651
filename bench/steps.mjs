#!/usr/bin/env node
// bench/steps.mjs — where a one-connection session spends its time, step by step.
//
// Runs sessions one after another (a new connection each, no pipelining, like
// smtp-source with one connection) against smarthold, a private Postfix and a
// bare Node responder, alternating between them, and prints for each the
// median time of every step: connect to 220, EHLO, MAIL, RCPT, DATA to 354,
// body and final dot to 250, QUIT. The bare responder is the floor of the
// platform: Node's event loop answering each line, writing and fdatasync'ing
// the body before its 250, with nothing else to do. The 1-connection cells of
// `npm run bench` are the sum of these steps.
//
//   node bench/steps.mjs [--size 5000] [--variant scan|noscan] [--sessions 300]
//                        [--config 'TOML appended to smarthold.toml'] [--cpu-prof DIR]
//
// Needs the built tree (npm run build) and, for the Postfix row, postfix
// installed and root (see bench/peers/postfix.mjs); without them it measures
// the others. Loopback only; everything it starts is stopped at the end.
import { spawn } from 'node:child_process';
import { openSync, fdatasync, rmSync, write, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as postfix from './peers/postfix.mjs';
import * as smarthold from './peers/smarthold.mjs';
import { startSink } from './sink.mjs';
import { toWire } from './latency.mjs';
import { ENVELOPES, writeMessages } from './lib/messages.mjs';
import {
  cleanupAll,
  freePort,
  installCleanupHandlers,
  onCleanup,
  startServer,
  tempDir,
  waitForSmtp,
} from './lib/proc.mjs';

const STEPS = ['connect→220', 'EHLO', 'MAIL', 'RCPT', 'DATA→354', 'dot→250', 'QUIT'];

/** The bare responder: 250 to every line, 354 to DATA, the body written and fdatasync'd before its 250. */
function serveBare(port, file) {
  const fd = openSync(file, 'w');
  net
    .createServer((s) => {
      s.setNoDelay(true);
      let inData = false;
      let buf = '';
      s.on('error', () => undefined);
      s.write('220 bare ESMTP\r\n');
      s.on('data', (d) => {
        buf += d.toString('latin1');
        if (inData) {
          if (!buf.endsWith('\r\n.\r\n')) return;
          const body = Buffer.from(buf, 'latin1');
          inData = false;
          buf = '';
          write(fd, body, 0, body.length, 0, () => fdatasync(fd, () => s.write('250 ok\r\n')));
          return;
        }
        for (let i = buf.indexOf('\r\n'); i !== -1; i = buf.indexOf('\r\n')) {
          const verb = buf.slice(0, 4).toUpperCase();
          buf = buf.slice(i + 2);
          if (verb === 'EHLO') s.write('250-bare\r\n250 8BITMIME\r\n');
          else if (verb === 'DATA') {
            s.write('354 go ahead\r\n');
            inData = true;
            return;
          } else if (verb === 'QUIT') s.end('221 bye\r\n');
          else s.write('250 ok\r\n');
        }
      });
    })
    .listen(port, '127.0.0.1');
}

/** One session; resolves to the time of each step in ms. */
function session(port, wire, env) {
  const script = [
    'EHLO client.bench.test\r\n',
    `MAIL FROM:<${env.from}>\r\n`,
    `RCPT TO:<${env.to}>\r\n`,
    'DATA\r\n',
    wire,
    'QUIT\r\n',
  ];
  return new Promise((resolve, reject) => {
    const times = [];
    const sock = net.connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    let t = process.hrtime.bigint();
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      // A complete reply: its last line has a space after the code.
      if (!/(?:^|\n)\d{3} [^\n]*\r\n$/.test(buf)) return;
      if (!/^[23]/.test(buf)) {
        reject(new Error(`step ${STEPS[times.length]}: ${buf.trim()}`));
        sock.destroy();
        return;
      }
      buf = '';
      const now = process.hrtime.bigint();
      times.push(Number(now - t) / 1e6);
      t = now;
      const next = script[times.length - 1];
      if (next === undefined) sock.end();
      else sock.write(next);
    });
    sock.on('error', reject);
    sock.on('close', () =>
      times.length === STEPS.length ? resolve(times) : reject(new Error('closed early')),
    );
  });
}

async function main() {
  const { values: opt } = parseArgs({
    options: {
      size: { type: 'string', default: '5000' },
      variant: { type: 'string', default: 'scan' },
      sessions: { type: 'string', default: '300' },
      config: { type: 'string', default: '' },
      'cpu-prof': { type: 'string' },
      'serve-bare': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (opt['serve-bare']) {
    const [port, file] = opt['serve-bare'].split(',');
    serveBare(Number(port), file);
    return;
  }
  if (opt.help) {
    console.log(
      'node bench/steps.mjs [--size N] [--variant scan|noscan] [--sessions N] [--config TOML] [--cpu-prof DIR]',
    );
    return;
  }
  installCleanupHandlers();
  const root = new URL('..', import.meta.url).pathname;
  const dir = tempDir('smarthold-steps-');
  const env = ENVELOPES[opt.variant];
  if (!env) throw new Error(`--variant is scan or noscan, not ${opt.variant}`);
  const wire = toWire(writeMessages(dir, { m: Number(opt.size) }).m[opt.variant]);
  const tools = postfix.tools();
  if (!tools.smtpSink) throw new Error('smtp-sink (Debian package postfix) is needed as the next hop');
  const sinkPort = await freePort();
  await startSink(tools.smtpSink, sinkPort);
  const peers = {};

  const sh = smarthold.check({ root });
  if (!sh.ok) throw new Error(`${sh.why}: ${sh.install}`);
  const shDir = tempDir();
  const port = await freePort();
  const file = join(shDir, 'smarthold.toml');
  writeFileSync(file, `${smarthold.configText({ port, sinkPort, dir: shDir })}\n${opt.config}\n`);
  const nodeArgs = opt['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${opt['cpu-prof']}`] : [];
  const { child } = await startServer(process.execPath, [...nodeArgs, sh.bin, 'start', '-c', file], {
    cwd: shDir,
    logFile: join(shDir, 'smarthold.log'),
    port,
  });
  peers.smarthold = { port, stop: () => child.stopTracked(15000) };

  const pf = postfix.check();
  if (pf.ok) {
    const p = await postfix.start({
      dir: tempDir('smarthold-bench-postfix-'),
      port: await freePort(),
      sinkPort,
    });
    peers.postfix = p;
  } else console.error(`steps: no Postfix row (${pf.why})`);

  const barePort = await freePort();
  const bareFile = join(dir, 'bare.dat');
  const bare = spawn(
    process.execPath,
    [new URL(import.meta.url).pathname, '--serve-bare', `${barePort},${bareFile}`],
    {
      stdio: 'inherit',
    },
  );
  onCleanup(() => bare.kill());
  await waitForSmtp(barePort);
  peers['bare Node'] = { port: barePort, stop: async () => bare.kill() };

  const times = Object.fromEntries(Object.keys(peers).map((k) => [k, []]));
  const n = Number(opt.sessions);
  for (let i = 0; i < n; i++)
    for (const [name, p] of Object.entries(peers)) times[name].push(await session(p.port, wire, env));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    `| ${opt.size} bytes, ${opt.variant}, ${n} sessions each (medians, ms) | ${STEPS.join(' | ')} | sum |`,
  );
  console.log(`|---|${STEPS.map(() => '---:').join('|')}|---:|`);
  for (const [name, rows] of Object.entries(times)) {
    const warm = rows.slice(Math.min(20, Math.floor(rows.length / 5)));
    const med = STEPS.map((_, k) => median(warm.map((r) => r[k])));
    console.log(
      `| ${name} | ${med.map((v) => v.toFixed(2)).join(' | ')} | ${med.reduce((a, b) => a + b, 0).toFixed(2)} |`,
    );
  }
  for (const p of Object.values(peers)) await p.stop();
  rmSync(bareFile, { force: true });
}

main()
  .catch((err) => {
    console.error(`steps: ${err.message}`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
