/**
 * store/lock.ts — one smarthold process per store directory.
 *
 * The embedded store assumes it is alone: at start-up it releases delivery
 * leases and sweeps the spool, which would break a second process using the
 * same directory. A pid file (`smarthold.pid`, created exclusively) guards
 * it; a pid file whose process is gone is stale and taken over. Readers such
 * as `smarthold queue list` do not take the lock. (The shared PostgreSQL
 * store will use leases instead.)
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SmartholdError } from '../errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the directory's lock; returns a function that releases it. Throws SMARTHOLD_STORE_LOCKED when another live process holds it. */
export function lockStoreDir(dir: string): () => void {
  const file = path.join(dir, 'smarthold.pid');
  for (let tries = 0; tries < 2; tries++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => {
        rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new SmartholdError(
          'SMARTHOLD_STORE_LOCKED',
          `the store directory ${dir} is in use by smarthold process ${pid} (${file}); stop it first, or give this instance its own [store] dir`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new SmartholdError('SMARTHOLD_STORE_LOCKED', `could not take the lock ${file}`);
}
