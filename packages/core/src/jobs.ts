/**
 * jobs.ts — the one scheduler for periodic plugin jobs.
 *
 * A job runs every `everyMs`; a run that is still going when the next is due
 * is skipped (never two at once); errors are logged, never thrown. Stopping
 * waits for runs in progress.
 */
import type { Logger } from 'pino';

interface Job {
  readonly plugin: string;
  readonly name: string;
  readonly everyMs: number;
  readonly run: () => Promise<void>;
  timer?: NodeJS.Timeout;
  current?: Promise<void> | undefined;
}

export class JobScheduler {
  private readonly jobs: Job[] = [];
  private started = false;

  constructor(private readonly log: Logger) {}

  add(plugin: string, name: string, everyMs: number, run: () => Promise<void>): void {
    const job: Job = { plugin, name, everyMs, run };
    this.jobs.push(job);
    if (this.started) this.arm(job);
  }

  /** Names of the registered jobs ("plugin/name"). */
  list(): string[] {
    return this.jobs.map((j) => `${j.plugin}/${j.name}`);
  }

  /** Runs one job now (CLI, tests); resolves when it finishes. */
  async runNow(id: string): Promise<void> {
    const job = this.jobs.find((j) => `${j.plugin}/${j.name}` === id);
    if (!job) throw new Error(`no job ${id}`);
    await this.fire(job);
  }

  private fire(job: Job): Promise<void> {
    if (job.current) return job.current;
    job.current = job
      .run()
      .catch((err: unknown) => {
        this.log.error({ err, plugin: job.plugin, job: job.name }, `job ${job.plugin}/${job.name} failed`);
      })
      .finally(() => {
        job.current = undefined;
      });
    return job.current;
  }

  private arm(job: Job): void {
    job.timer = setInterval(() => {
      void this.fire(job);
    }, job.everyMs);
    job.timer.unref();
  }

  start(): void {
    this.started = true;
    for (const j of this.jobs) this.arm(j);
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const j of this.jobs) clearInterval(j.timer);
    await Promise.allSettled(this.jobs.flatMap((j) => (j.current ? [j.current] : [])));
  }
}
