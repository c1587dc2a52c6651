// bench/lib/verify.mjs — checks once that the two smarthold rows mean what they say.
//
// Sends one message of each variant to the running smarthold, takes the queue
// id from the 250 reply, waits for it to leave, and reads
// `smarthold explain ID`: the quarantine's result quarantine.scan must say
// ran=true for the "scan" message, and ran=false because the verdict "cannot
// change the outcome" for the "noscan" one. The result goes into the report's notes; a mismatch is
// reported loudly but does not stop the run. It changes nothing.
import { join } from 'node:path';
import { sendOne } from '../latency.mjs';
import { ENVELOPES } from './messages.mjs';
import { run, sleep } from './proc.mjs';

export async function verifyScanCells({ root, inst, files }) {
  const notes = [];
  for (const variant of ['scan', 'noscan']) {
    let reply;
    try {
      reply = await sendOne({ port: inst.port, file: files[variant], ...ENVELOPES[variant] });
    } catch (err) {
      notes.push(`CHECK FAILED: the ${variant} message was not accepted: ${err.message}`);
      continue;
    }
    const id = /queued as ([A-Za-z0-9]+)/.exec(reply)?.[1];
    if (!id) {
      notes.push(`CHECK FAILED: no queue id in smarthold's reply to the ${variant} message: ${reply}`);
      continue;
    }
    await sleep(1000);
    const r = run(process.execPath, [
      join(root, 'packages/cli/bin/smarthold.js'),
      'explain',
      id,
      '-c',
      inst.configFile,
    ]);
    const text = r.stdout + r.stderr;
    // The quarantine records its decision as the result quarantine.scan = {"ran": ..., "why": ...}.
    const line = /quarantine\.scan = (\{.*\})/.exec(text)?.[1];
    let scan;
    try {
      scan = line ? JSON.parse(line) : undefined;
    } catch {
      scan = undefined;
    }
    const scanned = scan?.ran === true;
    const skipped = scan?.ran === false && /cannot change the outcome/.test(scan.why ?? '');
    if (r.status !== 0)
      notes.push(`CHECK FAILED: smarthold explain ${id} exited ${r.status}: ${text.trim().slice(0, 300)}`);
    else if (variant === 'scan' && scanned) {
      notes.push(
        `checked: smarthold's "scans every message" row: explain ${id} shows the scan ran (${scan.scanner}, "${scan.why}").`,
      );
    } else if (variant === 'noscan' && skipped) {
      notes.push(
        `checked: smarthold's "no scan needed" row: explain ${id} says the verdict "cannot change the outcome" (no scan).`,
      );
    } else {
      notes.push(
        `CHECK FAILED: the ${variant} message ${id} does not match its row: quarantine.scan = ${line ?? '(missing)'}`,
      );
    }
  }
  return { notes };
}
