// bench/lib/profile.mjs — the top of smarthold's CPU profile, in a few lines.
//
// With --cpu-prof, smarthold runs under `node --cpu-prof` and writes a
// .cpuprofile when it stops. This reads it and sums self time per function
// (name, file and line) and per package, so the notes can say where the time
// went. It is a summary for humans, not a profiler; open the file in Chrome
// DevTools for the whole picture.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Self time per function and per area of a .cpuprofile. */
export function topFunctions(profile, root, n = 15) {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const self = new Map();
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
  }
  const fn = new Map();
  const area = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const cf = node.callFrame;
    total += us;
    const url = cf.url.replace(/^file:\/\//, '');
    const file = url ? relative(root, url) : '';
    const key = `${cf.functionName || '(anonymous)'} ${file ? `${file}:${cf.lineNumber + 1}` : ''}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + us);
    const a = !url
      ? cf.functionName || '(native)'
      : (/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
        /packages\/([^/]+)\//.exec(url)?.[1] ??
        (url.startsWith('node:') ? 'node core' : file));
    area.set(a, (area.get(a) ?? 0) + us);
  }
  const top = (m) =>
    [...m.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, n)
      .map(([k, us]) => ({ what: k, ms: us / 1000, share: total ? us / total : 0 }));
  return { totalMs: total / 1000, functions: top(fn), areas: top(area) };
}

/** Lines for the report's notes from every profile in dir. */
export function summariseProfiles(dir, root) {
  let files = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return [`--cpu-prof: no profile found in ${dir}`];
  }
  const lines = [];
  for (const f of files) {
    const t = topFunctions(JSON.parse(readFileSync(join(dir, f), 'utf8')), root, 12);
    const pct = (x) => `${(x.share * 100).toFixed(1)}%`;
    lines.push(
      `smarthold CPU profile ${relative(root, join(dir, f))} (${Math.round(t.totalMs)} ms sampled):`,
    );
    lines.push(`  by area: ${t.areas.map((a) => `${a.what} ${pct(a)}`).join(', ')}`);
    lines.push(`  top functions (self time): ${t.functions.map((x) => `${x.what} ${pct(x)}`).join('; ')}`);
  }
  return lines;
}
