#!/usr/bin/env node
// bench/run.mjs — `npm run bench`: smarthold, Postfix and Haraka side by side, one run.
//
// Sets up every peer on 127.0.0.1 (each relaying to its own smtp-sink),
// then for each repetition, each scenario and each peer in turn (the order
// rotates between repetitions) sends the load with smtp-source, waits until
// the sink has counted every message, samples the peer's processes, runs a
// shorter latency pass, and finally prints the Markdown table and writes it
// with the JSON under bench/results/. A message that does not arrive fails
// the run (exit 1). Everything started is stopped and every temp dir removed
// at the end, on failure and on Ctrl-C.
//
//   npm run bench                      full run: 2000 messages, 3 repetitions
//   npm run bench -- --quick           300 messages, 1 repetition
//   npm run bench -- --peers smarthold,postfix --scenarios 5k-c10,5k-c50
//   npm run bench -- --help
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ceiling from './peers/ceiling.mjs';
import * as postfix from './peers/postfix.mjs';
import * as haraka from './peers/haraka.mjs';
import * as smarthold from './peers/smarthold.mjs';
import { startSink } from './sink.mjs';
import { runSource } from './load.mjs';
import { latencyPass, quantile } from './latency.mjs';
import { markdown, summarise, ratios, writeResults } from './report.mjs';
import { ENVELOPES, writeMessages } from './lib/messages.mjs';
import { machine } from './lib/machine.mjs';
import { diskOf } from './lib/disk.mjs';
import { verifyScanCells } from './lib/verify.mjs';
import { summariseProfiles } from './lib/profile.mjs';
import {
  cleanupAll,
  freePort,
  installCleanupHandlers,
  keepTempDirs,
  sleep,
  startSampler,
  tempDir,
} from './lib/proc.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const HELP = `usage: npm run bench -- [options]
  --quick              short run: 300 messages, 1 repetition, latency pass of 100
  --messages N         messages per run (default 2000; a quarter of it at 1 connection)
  --reps N             repetitions, interleaved (default 3)
  --latency N          messages in each latency pass (default 500; 0: no latency pass)
  --warmup N           5 KB messages each peer gets before anything is measured, and a
                       tenth as many of 100 KB (default 3000; 0: none)
  --peers LIST         among ceiling,postfix,haraka,smarthold,smarthold-noscan (default: all)
  --scenarios LIST     among ${'5k-c1,5k-c10,5k-c50,100k-c1,100k-c10,100k-c50,5k-c10-reuse'} (default: all)
  --cpu-prof           run smarthold under node --cpu-prof and summarise the profile
  --out DIR            where results go (default bench/results)
  --name NAME          result file name without extension (default: the date, "-quick" added in quick mode)
  --keep               keep the temp dirs (logs, queues) for a look afterwards
  --baseline DIR       also measure the smarthold checkout in DIR (built: npm ci), as rows
                       "baseline" and "baseline-noscan": an A/B of a change in one run
                       (DIR may be this checkout, for an A/B of a setting with the options below)
  --baseline-config F  TOML merged into the baseline's generated smarthold.toml
  --baseline-node-args="ARGS"  node options for the baseline (with "=": they start with --)
  --baseline-env "K=V ..."     environment variables for the baseline`;

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    messages: { type: 'string' },
    reps: { type: 'string' },
    latency: { type: 'string' },
    warmup: { type: 'string' },
    peers: { type: 'string' },
    scenarios: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    out: { type: 'string', default: join(root, 'bench', 'results') },
    name: { type: 'string' },
    keep: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    'baseline-config': { type: 'string' },
    'baseline-node-args': { type: 'string' },
    'baseline-env': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}

const int = (v, d) => (v === undefined ? d : Math.max(0, Number.parseInt(v, 10) || 0));
const MESSAGES = int(opt.messages, opt.quick ? 300 : 2000);
const ONE_CONN = Math.max(50, Math.round(MESSAGES / 4));
const REPS = Math.max(1, int(opt.reps, opt.quick ? 1 : 3));
const LATENCY = int(opt.latency, opt.quick ? 100 : 500);
// A smarthold process needs a few thousand messages before its CPU per message settles (V8
// compiles its hot functions, the write-ahead log reaches its working size): 3.8 ms per 5 KB
// message over the first thousand, ~2.0 from the fourth on (bench/NOTES.md, "2026-12-03, day").
// A server runs warm, so every peer is measured warm.
const WARMUP = int(opt.warmup, 3000);
const SIZES = { '5k': 5 * 1024, '100k': 100 * 1024 };
const SIZE_LABELS = { '5k': '5 KB', '100k': '100 KB' };

const ALL_SCENARIOS = [
  { id: '5k-c1', label: '5 KB, 1 conn', size: '5k', conns: 1, reuse: false },
  { id: '5k-c10', label: '5 KB, 10 conns', size: '5k', conns: 10, reuse: false },
  { id: '5k-c50', label: '5 KB, 50 conns', size: '5k', conns: 50, reuse: false },
  { id: '100k-c1', label: '100 KB, 1 conn', size: '100k', conns: 1, reuse: false },
  { id: '100k-c10', label: '100 KB, 10 conns', size: '100k', conns: 10, reuse: false },
  { id: '100k-c50', label: '100 KB, 50 conns', size: '100k', conns: 50, reuse: false },
  { id: '5k-c10-reuse', label: '5 KB, 10 conns, reuse (-d)', size: '5k', conns: 10, reuse: true },
];

// A subject is a row of the table: a peer instance fed one message variant.
const ALL_SUBJECTS = [
  { id: 'ceiling', label: 'ceiling: smtp-source → smtp-sink', peer: ceiling, variant: 'scan' },
  { id: 'postfix', label: "Postfix (relayhost, fsync'd queue)", peer: postfix, variant: 'scan' },
  { id: 'haraka', label: 'Haraka (outbound queue, no fsync)', peer: haraka, variant: 'scan' },
  { id: 'smarthold', label: 'smarthold (durable, scans every message)', peer: smarthold, variant: 'scan' },
  {
    id: 'smarthold-noscan',
    label: 'smarthold ("no scan needed" cell)',
    peer: smarthold,
    variant: 'noscan',
  },
];

// Another smarthold checkout (--baseline): the same peer, started from that tree, with
// settings of its own when asked (--baseline-config, --baseline-node-args, --baseline-env).
const words = (v) => (v ?? '').split(/\s+/).filter(Boolean);
for (const o of ['baseline-config', 'baseline-node-args', 'baseline-env']) {
  if (opt[o] !== undefined && opt.baseline === undefined) {
    console.error(`bench: --${o} needs --baseline DIR (use --baseline . for this checkout)`);
    process.exit(64);
  }
}
for (const kv of words(opt['baseline-env'])) {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(kv)) {
    console.error(`bench: --baseline-env takes NAME=VALUE pairs, not "${kv}"`);
    process.exit(64);
  }
}
const baselineStart = {
  ...(opt['baseline-config'] ? { configExtra: readFileSync(opt['baseline-config'], 'utf8') } : {}),
  ...(opt['baseline-env']
    ? {
        env: Object.fromEntries(
          words(opt['baseline-env']).map((kv) => [kv.split('=')[0], kv.slice(kv.indexOf('=') + 1)]),
        ),
      }
    : {}),
};
const baselineRoot = opt.baseline === undefined ? undefined : resolve(opt.baseline);
const baseline = baselineRoot
  ? {
      ...smarthold,
      name: 'smarthold-baseline',
      check: (o) => smarthold.check({ ...o, root: baselineRoot }),
      start: (o) =>
        smarthold.start({
          ...o,
          root: baselineRoot,
          ...baselineStart,
          nodeArgs: [...(o.nodeArgs ?? []), ...words(opt['baseline-node-args'])],
        }),
    }
  : undefined;
if (baseline) {
  ALL_SUBJECTS.push(
    { id: 'baseline', label: 'smarthold baseline (scans every message)', peer: baseline, variant: 'scan' },
    {
      id: 'baseline-noscan',
      label: 'smarthold baseline ("no scan needed")',
      peer: baseline,
      variant: 'noscan',
    },
  );
}

function pick(list, csv, what) {
  if (!csv) return list;
  const ids = csv
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const id of ids) {
    if (!list.some((x) => x.id === id)) {
      console.error(`bench: unknown ${what} "${id}"; known: ${list.map((x) => x.id).join(', ')}`);
      process.exit(2);
    }
  }
  return list.filter((x) => ids.includes(x.id));
}

const log = (...a) => console.error(...a);

async function main() {
  installCleanupHandlers();
  keepTempDirs(opt.keep);
  const scenarios = pick(ALL_SCENARIOS, opt.scenarios, 'scenario');
  let subjects = pick(ALL_SUBJECTS, opt.peers, 'peer');
  if (baseline && opt.peers)
    subjects.push(...ALL_SUBJECTS.filter((x) => x.peer === baseline && !subjects.includes(x)));
  const tools = postfix.tools();
  if (!tools.smtpSource || !tools.smtpSink) {
    log("bench: smtp-source and smtp-sink (from Debian's postfix package) are needed as client and sink.");
    log(`       install: ${'apt-get install -y --no-install-recommends postfix'}`);
    return 2;
  }

  // Which peers can run here; the others are reported with how to install them.
  const skipped = [];
  const versions = {};
  const checked = new Map();
  for (const sub of subjects) {
    if (checked.has(sub.peer)) continue;
    const c = sub.peer.check({ root });
    checked.set(sub.peer, c);
    if (c.ok) versions[sub.peer.name] = c.version;
    else {
      skipped.push({ label: sub.peer.name, why: c.why, install: c.install });
      log(`bench: ${sub.peer.name} is not measured: ${c.why}.\n       install: ${c.install}`);
    }
  }
  subjects = subjects.filter((s) => checked.get(s.peer).ok);
  if (!subjects.length) {
    log('bench: nothing to measure');
    return 2;
  }

  const work = tempDir();
  if (opt.keep) log(`bench: keeping the temp dirs, starting with ${work}`);
  const files = writeMessages(work, SIZES);
  const machineInfo = machine(work);
  const disk = diskOf(work);
  const profDir = opt['cpu-prof']
    ? join(opt.out, `prof-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}`)
    : undefined;

  // One instance (and one sink) per peer, for the whole run.
  const instances = new Map();
  for (const sub of subjects) {
    if (instances.has(sub.peer)) continue;
    const sinkPort = await freePort();
    const sink = await startSink(tools.smtpSink, sinkPort);
    const dir = tempDir(`smarthold-bench-${sub.peer.name}-`);
    try {
      const inst = await sub.peer.start({
        root,
        dir,
        sink,
        sinkPort,
        port: await freePort(),
        ...(sub.peer === smarthold && profDir
          ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] }
          : {}),
      });
      instances.set(sub.peer, { ...inst, sink, dir });
      log(`bench: ${sub.peer.name} listening on 127.0.0.1:${inst.port}, next hop smtp-sink on :${sinkPort}`);
    } catch (err) {
      log(`bench: ${sub.peer.name} failed to start: ${err.message}`);
      skipped.push({
        label: sub.peer.name,
        why: `failed to start: ${err.message.split('\n')[0]}`,
        install: checked.get(sub.peer).install ?? 'see the message above',
      });
      await sink.stop();
    }
  }
  subjects = subjects.filter((s) => instances.has(s.peer));

  // Warm-up (not recorded): JIT, process pools, connection caches, the size of the queue's log.
  const warmups = [
    { size: '5k', conns: 10, reuse: false, count: WARMUP },
    { size: '100k', conns: 10, reuse: false, count: Math.round(WARMUP / 10) },
  ].filter((w) => w.count > 0 && scenarios.some((sc) => sc.size === w.size));
  for (const sub of subjects) {
    const inst = instances.get(sub.peer);
    for (const w of warmups) {
      const r = await measureOnce(sub, inst, w, w.count, 0, files);
      if (r.error) log(`bench: warm-up of ${sub.id} (${w.size}) failed: ${r.error}`);
    }
  }
  if (warmups.length)
    log(
      `bench: warm-up done (${warmups.map((w) => `${w.count} × ${SIZE_LABELS[w.size]}`).join(', ')} per peer)`,
    );

  // Check once that the two smarthold rows are what they claim to be.
  const notes = [];
  if (instances.has(smarthold)) {
    const v = await verifyScanCells({ root, inst: instances.get(smarthold), files: files['5k'] });
    notes.push(...v.notes);
    for (const n of v.notes) log(`bench: ${n}`);
  }

  const measurements = [];
  const started = Date.now();
  for (let rep = 0; rep < REPS; rep++) {
    for (const sc of scenarios) {
      const order = rotate(subjects, rep + scenarios.indexOf(sc));
      for (const sub of order) {
        const inst = instances.get(sub.peer);
        const count = sc.conns === 1 ? ONE_CONN : MESSAGES;
        const m = await measureOnce(sub, inst, sc, count, LATENCY, files, disk);
        measurements.push({ subject: sub.id, scenario: sc.id, rep: rep + 1, ...m });
        log(
          `bench: rep ${rep + 1}/${REPS} ${sc.label.padEnd(26)} ${sub.id.padEnd(17)} ` +
            (m.error
              ? `FAILED: ${m.error.split('\n')[0]}`
              : `accepted ${m.acceptedPerSec.toFixed(0)}/s, delivered ${m.deliveredPerSec.toFixed(0)}/s, ` +
                `p99 ${m.p99Ms?.toFixed(1) ?? '—'} ms, ${m.cpuMsPerMsg.toFixed(2)} ms CPU/msg ` +
                `(main thread ${m.mainCpuMsPerMsg.toFixed(2)}), ${m.peakRssMb.toFixed(0)} MB`),
        );
      }
    }
  }

  for (const [peer, inst] of instances) {
    await inst.stop();
    await inst.sink.stop();
    if (peer === smarthold && profDir) {
      await sleep(500);
      notes.push(...summariseProfiles(profDir, root));
    }
  }

  const date = new Date().toISOString().slice(0, 10);
  const summary = summarise(measurements);
  const ratioPairs = [
    ['smarthold', 'postfix', 'smarthold / Postfix'],
    ['smarthold', 'haraka', 'smarthold / Haraka'],
    ['smarthold-noscan', 'postfix', 'smarthold no-scan / Postfix'],
    ['smarthold-noscan', 'smarthold', 'no-scan / scan (what skipping the scan saves)'],
    ...(baseline
      ? [
          ['smarthold', 'baseline', 'smarthold / baseline'],
          ['smarthold-noscan', 'baseline-noscan', 'no-scan: smarthold / baseline'],
        ]
      : []),
  ];
  const meta = {
    date,
    quick: opt.quick,
    machine: machineInfo,
    versions: { smarthold: versions.smarthold, postfix: versions.postfix, haraka: versions.haraka },
    messages: MESSAGES,
    messagesOneConn: ONE_CONN,
    warmup: warmups.map(({ size, count }) => ({ label: SIZE_LABELS[size], count })),
    reps: REPS,
    latencyMessages: LATENCY,
    skipped,
    ratioPairs,
    notes: [
      ...notes,
      'delivered msg/s = messages / (last arrival at the sink − start of sending); accepted msg/s = messages / smtp-source wall time.',
      'CPU ms/msg, peak RSS and peak PSS are those of the peer\'s own process tree (for the ceiling: the sink), sampled from /proc every 100 ms over the throughput pass until the last arrival. RSS is summed over the tree and so counts shared libraries once per process (Postfix runs dozens); PSS shares them out and is the fairer total. "Of it main thread" (smarthold only): the CPU of its event loop, the thread that bounds its throughput; the rest is the thread pool (file system, fsync), the Bayes worker and V8\'s helpers.',
      'Latency: a separate pass with bench/latency.mjs, same connections and reuse, from the final dot written to the reply.',
      disk.name
        ? `disk writes KB/msg: what the disk holding the peers' directories (device ${disk.name}) wrote during the throughput pass, from /proc/diskstats, after a \`sync\` of what earlier passes left; only the peer writes then. Writes the kernel makes later (never-fsync'd data) are not in it.`
        : 'disk writes KB/msg: not measured (no block device under the temp directory, or not Linux).',
      `Total bench time ${Math.round((Date.now() - started) / 1000)} s.`,
    ],
  };
  for (const k of Object.keys(meta.versions)) if (meta.versions[k] === undefined) delete meta.versions[k];
  const md = markdown({ meta, subjects, scenarios, summary });
  const report = {
    meta,
    scenarios: scenarios.map(({ id, label, size, conns, reuse }) => ({
      id,
      label,
      bytes: SIZES[size],
      conns,
      reuse,
    })),
    subjects: subjects.map(({ id, label, variant }) => ({
      id,
      label,
      peer: id.split('-')[0],
      variant,
      envelope: ENVELOPES[variant],
    })),
    summary,
    ratios: Object.fromEntries(ratioPairs.map(([a, b, label]) => [label, ratios(summary, a, b, scenarios)])),
    measurements,
  };
  const name = opt.name ?? `${date}${opt.quick ? '-quick' : ''}`;
  const { mdPath, jsonPath } = writeResults(opt.out, name, report, md);
  process.stdout.write('\n' + md);
  log(`bench: wrote ${mdPath} and ${jsonPath}`);
  const failed = measurements.some((m) => m.error || m.lost);
  if (failed) log('bench: FAILED: some runs failed or lost messages (see the table)');
  return failed ? 1 : 0;
}

function rotate(list, n) {
  const k = n % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** Waits until the sink has been still for `ms` (stray deliveries of the previous run). */
async function quiet(sink, ms = 400, maxMs = 10000) {
  const until = Date.now() + maxMs;
  let last = sink.count();
  let since = Date.now();
  while (Date.now() < until) {
    await sleep(100);
    if (sink.count() !== last) {
      last = sink.count();
      since = Date.now();
    } else if (Date.now() - since >= ms) return;
  }
}

/** One throughput pass (smtp-source) and one latency pass of one subject in one scenario. */
async function measureOnce(sub, inst, sc, count, latencyCount, files, disk) {
  if (!inst.roots().length) return { error: `${sub.peer.name} is not running any more` };
  const file = files[sc.size][sub.variant];
  const env = ENVELOPES[sub.variant];
  const timeoutMs = 60_000 + count * 100;
  await quiet(inst.sink);
  disk?.settle();
  const written0 = disk?.written();
  const c0 = inst.sink.count();
  const sampler = startSampler(inst.roots);
  const src = await runSource({
    bin: postfix.tools().smtpSource,
    port: inst.port,
    conns: sc.conns,
    count,
    file,
    reuse: sc.reuse,
    ...env,
    timeoutMs,
  });
  const arrival = await inst.sink.waitFor(c0 + count, src.ok ? timeoutMs : 5000);
  const usage = sampler.stop();
  const written1 = disk?.written();
  const arrived = inst.sink.count() - c0;
  const out = {
    messages: count,
    arrived,
    lost: src.ok ? Math.max(0, count - arrived) : 0,
    wallMs: src.wallMs,
    acceptedPerSec: count / (src.wallMs / 1000),
    deliveredPerSec: arrival === undefined ? undefined : count / ((arrival - src.startedAt) / 1000),
    cpuMsPerMsg: usage.cpuMs / count,
    mainCpuMsPerMsg: usage.mainCpuMs / count,
    peakRssMb: usage.peakRssMb,
    peakPssMb: usage.peakPssMb,
    diskKbPerMsg:
      written0 === undefined || written1 === undefined ? undefined : (written1 - written0) / 1024 / count,
  };
  if (!src.ok) return { ...out, error: src.error + tailOf(inst) };
  if (arrival === undefined) {
    return {
      ...out,
      error: `${count - arrived} of ${count} messages did not arrive at the sink within ${timeoutMs} ms${tailOf(inst)}`,
    };
  }
  if (!latencyCount) return out;
  await quiet(inst.sink);
  const c1 = inst.sink.count();
  const n = Math.min(latencyCount, count);
  try {
    const times = await latencyPass({
      port: inst.port,
      conns: sc.conns,
      count: n,
      file,
      reuse: sc.reuse,
      ...env,
      timeoutMs,
    });
    const arrived2 = await inst.sink.waitFor(c1 + n, timeoutMs);
    if (arrived2 === undefined) {
      const got = inst.sink.count() - c1;
      return { ...out, lost: n - got, error: `latency pass: ${n - got} of ${n} messages did not arrive` };
    }
    return { ...out, latencyMessages: n, p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99) };
  } catch (err) {
    return { ...out, error: `latency pass: ${err.message}${tailOf(inst)}` };
  }
}

function tailOf(inst) {
  const t = inst.log?.() ?? '';
  return t ? `\n--- peer log (tail) ---\n${t.slice(-1500)}` : '';
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`bench: ${err.stack ?? err}`);
} finally {
  cleanupAll();
}
process.exit(code);
