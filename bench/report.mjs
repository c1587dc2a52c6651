// bench/report.mjs — from measurements to the Markdown table and the JSON file.
//
// Takes every single measurement (one peer, one scenario, one repetition),
// reduces the repetitions to medians, computes the ratios smarthold/Postfix
// and smarthold/Haraka on delivered msg/s, and renders: a headline table
// (delivered msg/s, peers × scenarios, with the ratio rows), a detail table
// (accepted, delivered, p50/p99 final dot → reply, peak RSS, CPU per
// message) and the header with date, machine and versions. It measures
// nothing and starts nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return undefined;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Medians over repetitions, keyed by subject id then scenario id. */
export function summarise(measurements) {
  const groups = new Map();
  for (const m of measurements) {
    const key = `${m.subject}\u0000${m.scenario}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(m);
  }
  const out = {};
  for (const ms of groups.values()) {
    const { subject, scenario } = ms[0];
    out[subject] ??= {};
    const ok = ms.filter((m) => !m.error);
    out[subject][scenario] = {
      runs: ms.length,
      failed: ms.length - ok.length,
      errors: ms.filter((m) => m.error).map((m) => m.error),
      lost: ms.reduce((n, m) => n + (m.lost ?? 0), 0),
      acceptedPerSec: median(ok.map((m) => m.acceptedPerSec)),
      deliveredPerSec: median(ok.map((m) => m.deliveredPerSec)),
      p50Ms: median(ok.map((m) => m.p50Ms)),
      p99Ms: median(ok.map((m) => m.p99Ms)),
      peakRssMb: median(ok.map((m) => m.peakRssMb)),
      peakPssMb: median(ok.map((m) => m.peakPssMb)),
      cpuMsPerMsg: median(ok.map((m) => m.cpuMsPerMsg)),
      mainCpuMsPerMsg: median(ok.map((m) => m.mainCpuMsPerMsg ?? 0)),
      diskKbPerMsg: median(ok.map((m) => m.diskKbPerMsg)),
    };
  }
  return out;
}

/** Ratios of delivered msg/s: subject a over subject b, per scenario. */
export function ratios(summary, a, b, scenarios) {
  const r = {};
  for (const s of scenarios) {
    const x = summary[a]?.[s.id]?.deliveredPerSec;
    const y = summary[b]?.[s.id]?.deliveredPerSec;
    if (x !== undefined && y) r[s.id] = x / y;
  }
  return r;
}

const fmtRate = (x) =>
  x === undefined ? '—' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1);
const fmtMs = (x) => (x === undefined ? '—' : x >= 10 ? x.toFixed(0) : x.toFixed(1));
const fmtMb = (x) => (x === undefined ? '—' : String(Math.round(x)));
const fmtCpu = (x) => (x === undefined ? '—' : x.toFixed(2));
const fmtKb = (x) => (x === undefined ? '—' : x >= 10 ? x.toFixed(0) : x.toFixed(1));
const fmtRatio = (x) => (x === undefined ? '—' : `${x.toFixed(2)}×`);

/** Renders the whole report as Markdown. */
export function markdown({ meta, subjects, scenarios, summary }) {
  const lines = [];
  const avail = subjects.filter((s) => summary[s.id]);
  lines.push(`# smarthold benchmark — ${meta.date}${meta.quick ? ' (quick)' : ''}`, '');
  lines.push(
    `Machine: ${meta.machine.cpu}, ${meta.machine.cores} cores, ${meta.machine.memoryGb} GB, ${meta.machine.kernel}; Node ${meta.machine.node}` +
      (meta.machine.fsync4k
        ? `; 4 KB write + fsync in the temp dir: p50 ${meta.machine.fsync4k.p50Ms} ms, p99 ${meta.machine.fsync4k.p99Ms} ms.`
        : '.'),
  );
  lines.push(
    `Versions: ${Object.entries(meta.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
  );
  lines.push(
    `Load: smtp-source, ${meta.messages} messages per run (${meta.messagesOneConn} at 1 connection), ` +
      `${meta.reps} repetition${meta.reps === 1 ? '' : 's'} interleaved (medians), latency pass of ${meta.latencyMessages} messages; ` +
      (meta.warmup?.length
        ? `after a warm-up of ${meta.warmup.map((w) => `${w.count} × ${w.label}`).join(' and ')} per peer; `
        : '') +
      `next hop: smtp-sink. Loopback only.`,
  );
  for (const s of meta.skipped)
    lines.push(``, `**Not measured: ${s.label}** — ${s.why}. Install: \`${s.install}\``);
  lines.push('', '## Delivered msg/s (counted at the sink)', '');
  lines.push(`| peer | ${scenarios.map((s) => s.label).join(' | ')} |`);
  lines.push(`|---|${scenarios.map(() => '---:').join('|')}|`);
  for (const sub of avail) {
    lines.push(`| ${sub.label} | ${scenarios.map((s) => cell(summary[sub.id]?.[s.id])).join(' | ')} |`);
  }
  for (const [a, b, label] of meta.ratioPairs) {
    if (!summary[a] || !summary[b]) continue;
    const r = ratios(summary, a, b, scenarios);
    lines.push(`| *${label}* | ${scenarios.map((s) => fmtRatio(r[s.id])).join(' | ')} |`);
  }
  lines.push('', '## Details (medians)', '');
  lines.push(
    '| scenario | peer | accepted msg/s | delivered msg/s | final dot → 250, p50 ms | p99 ms | peak RSS MB | peak PSS MB | CPU ms/msg | of it main thread | disk writes KB/msg |',
  );
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of scenarios) {
    for (const sub of avail) {
      const m = summary[sub.id]?.[s.id];
      if (!m) continue;
      lines.push(
        `| ${s.label} | ${sub.label} | ${fmtRate(m.acceptedPerSec)} | ${cell(m)} | ${fmtMs(m.p50Ms)} | ${fmtMs(m.p99Ms)} | ${fmtMb(m.peakRssMb)} | ${fmtMb(m.peakPssMb)} | ${fmtCpu(m.cpuMsPerMsg)} | ${/^(smarthold|baseline)/.test(sub.id) ? fmtCpu(m.mainCpuMsPerMsg) : '—'} | ${fmtKb(m.diskKbPerMsg)} |`,
      );
    }
  }
  const failures = [];
  for (const sub of avail) {
    for (const s of scenarios) {
      const m = summary[sub.id]?.[s.id];
      if (m?.failed) failures.push(`- ${sub.label}, ${s.label}: ${m.errors.join('; ')}`);
    }
  }
  lines.push('');
  if (failures.length) lines.push('## FAILED runs', '', ...failures, '');
  else lines.push('Every message sent arrived at the sink in every run (zero lost).', '');
  lines.push(...meta.notes.map((n) => `- ${n}`));
  return lines.join('\n') + '\n';
}

function cell(m) {
  if (!m) return '—';
  if (m.failed && m.deliveredPerSec === undefined) return '**FAILED**';
  return fmtRate(m.deliveredPerSec) + (m.failed ? ' (**some runs FAILED**)' : '');
}

/** Writes <name>.md and <name>.json into dir; returns their paths. */
export function writeResults(dir, name, report, md) {
  mkdirSync(dir, { recursive: true });
  const mdPath = join(dir, `${name}.md`);
  const jsonPath = join(dir, `${name}.json`);
  writeFileSync(mdPath, md);
  writeFileSync(jsonPath, JSON.stringify(report, null, 2) + '\n');
  return { mdPath, jsonPath };
}
