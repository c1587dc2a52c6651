/**
 * learning.ts — the scanners learn from people's decisions.
 *
 * A release confirmed by a person (ham) or, when `learn.on_discard` is on, a
 * confirmed discard (spam) keeps a copy of the message as
 * `LEARNDIR/LABEL.QUEUEID.eml` (the body may be delivered and gone by the
 * time a scanner takes it). The `learn` job feeds the waiting copies to the
 * scanners and removes each one once learnt; a failure leaves it for the next
 * run. It does not decide what is learnt (service.ts does) nor how a scanner
 * learns (the spam-scanner service does).
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';

/** A learning request waiting for the scanner. */
export type LearnLabel = 'spam' | 'ham';

/** Teaches the scanners one message. */
export type Learn = (message: { size: number; openMessage(): Readable }, label: LearnLabel) => Promise<void>;

/** What the learning queue needs. */
export interface LearningDeps {
  /** Directory for learning requests; learning is off when undefined. */
  readonly dir: string | undefined;
  /** Absent when no scanner can learn: requests then wait in `dir`. */
  readonly learn: Learn | undefined;
  /** The held message's bytes as received. */
  readonly raw: (queueId: string) => Promise<Buffer>;
  readonly log: Pick<Logger, 'info' | 'warn'>;
}

/**
 * Learning requests kept as files until the scanners take them.
 *
 * @example
 * const q = new LearningQueue({ dir, learn, raw: (id) => service.raw(id), log });
 * await q.request(queueId, 'ham');
 * await q.feed(); // from the learn job
 */
export class LearningQueue {
  constructor(private readonly deps: LearningDeps) {}

  /** Keeps a copy of the message for the scanners to learn from; never fails the caller. */
  async request(queueId: string, label: LearnLabel): Promise<void> {
    const dir = this.deps.dir;
    if (dir === undefined) return;
    try {
      const raw = await this.deps.raw(queueId);
      await mkdir(dir, { recursive: true });
      const file = path.join(dir, `${label}.${queueId}.eml`);
      await writeFile(`${file}.tmp`, raw);
      await rename(`${file}.tmp`, file);
    } catch (err) {
      this.deps.log.warn({ queue_id: queueId, err }, 'could not keep a copy for learning');
    }
  }

  /** Feeds the waiting requests to the scanners. Returns how many were learnt. */
  async feed(): Promise<number> {
    const { dir, learn } = this.deps;
    if (dir === undefined || learn === undefined) return 0;
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.eml'));
    } catch {
      return 0;
    }
    let n = 0;
    for (const name of names) {
      const label: LearnLabel = name.startsWith('spam.') ? 'spam' : 'ham';
      const file = path.join(dir, name);
      try {
        const raw = await readFile(file);
        await learn({ size: raw.length, openMessage: () => Readable.from([raw]) }, label);
        await rm(file, { force: true });
        n++;
      } catch (err) {
        this.deps.log.warn({ file, err }, 'learning failed; will retry');
      }
    }
    if (n) this.deps.log.info({ count: n }, 'scanners learnt from people’s decisions');
    return n;
  }
}
