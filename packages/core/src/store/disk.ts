/**
 * store/disk.ts — is there room to accept mail?
 *
 * Postfix's queue_minfree: below a free-space floor on the queue's file
 * system, MAIL is refused with 452 4.3.1 (RFC 3463 "mail system full"), so
 * the client keeps the message instead of us failing half-way through DATA.
 * statfs is asked at most once a second. It reserves nothing.
 */
import { statfs } from 'node:fs/promises';

export class DiskGuard {
  private checkedAt = 0;
  private free = Number.POSITIVE_INFINITY;

  constructor(
    private readonly dir: string,
    private readonly minFree: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Free octets for an unprivileged writer (cached for a second). */
  async freeBytes(): Promise<number> {
    const t = this.now();
    if (t - this.checkedAt >= 1000) {
      const s = await statfs(this.dir);
      this.free = s.bavail * s.bsize;
      this.checkedAt = t;
    }
    return this.free;
  }

  /** True when accepting a message of `size` octets keeps the floor. */
  async hasRoom(size = 0): Promise<boolean> {
    if (this.minFree === 0) return true;
    return (await this.freeBytes()) - size >= this.minFree;
  }
}
