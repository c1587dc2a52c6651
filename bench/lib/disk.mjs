// bench/lib/disk.mjs — bytes written to the disk that holds the peers' files.
//
// Read from /proc/diskstats (sectors written, 512 bytes each) for the block
// device of a directory, before and after a throughput pass: what the peer
// made the disk write per message (its queue, its log, the file system's own
// blocks). Only the peer writes during a pass (smtp-source and smtp-sink keep
// nothing), and `settle()` flushes what earlier passes left in the page cache
// first, so the figure is the pass's own. Writes the kernel would only make
// later (async writeback of what was never fsync'd) are not in it. Undefined
// where there is no such device (tmpfs, not Linux).
import { readFileSync, statSync } from 'node:fs';
import { run } from './proc.mjs';

/** major:minor of the device holding `dir`, from Linux's dev_t encoding. */
function deviceOf(dir) {
  const { dev } = statSync(dir, { bigint: true });
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { major, minor };
}

/** Sectors written so far by the device, or undefined. */
function sectorsWritten(major, minor) {
  let text;
  try {
    text = readFileSync('/proc/diskstats', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (Number(f[0]) === major && Number(f[1]) === minor) return Number(f[9]);
  }
  return undefined;
}

/**
 * The disk under `dir`: `written()` is its bytes written so far (undefined
 * when unknown); `settle()` writes out the page cache (sync) before a pass.
 */
export function diskOf(dir) {
  const { major, minor } = deviceOf(dir);
  const known = sectorsWritten(major, minor) !== undefined;
  return {
    name: known ? `${major}:${minor}` : undefined,
    written: () => {
      const s = known ? sectorsWritten(major, minor) : undefined;
      return s === undefined ? undefined : s * 512;
    },
    settle: () => {
      if (known) run('sync', []);
    },
  };
}
