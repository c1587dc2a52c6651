/**
 * plugin/results.ts — the per-transaction results store and the hook trace.
 *
 * Plugins record typed (JSON) findings here instead of adding headers; later
 * hooks, `explain` and the admin UI read them. One Results object per
 * transaction; each plugin gets a view that writes under its own name. The
 * trace records every hook call (plugin, hook, verdict, duration). Persisting
 * both is the store's job, not this file's.
 */
import type { Json, ResultRecord, Results } from './api.js';

/** One hook call, as `explain` shows it. */
export interface TraceEntry {
  readonly plugin: string;
  readonly hook: string;
  /** Verdict in short form ("continue", "reject 550 5.7.1", ...) or "error: ..." */
  readonly verdict: string;
  readonly ms: number;
  /** Milliseconds since the epoch when the call started. */
  readonly at: number;
  readonly recipient?: string;
  readonly error?: string;
}

/** The store behind the plugin views; owned by the transaction. */
export class ResultsStore {
  private readonly records: ResultRecord[] = [];
  readonly trace: TraceEntry[] = [];

  /** A view for one plugin: writes are filed under `plugin`. */
  view(plugin: string): Results {
    return {
      set: (key, value, opts) => {
        this.set(plugin, key, value, opts?.recipient);
      },
      get: (p, key, opts) => this.get(p, key, opts?.recipient),
      all: () => this.records,
    };
  }

  set(plugin: string, key: string, value: Json, recipient?: string): void {
    const i = this.records.findIndex(
      (r) => r.plugin === plugin && r.key === key && r.recipient === recipient,
    );
    const rec: ResultRecord = { plugin, key, value, ...(recipient === undefined ? {} : { recipient }) };
    if (i >= 0) this.records[i] = rec;
    else this.records.push(rec);
  }

  get(plugin: string, key: string, recipient?: string): Json | undefined {
    return this.records.find((r) => r.plugin === plugin && r.key === key && r.recipient === recipient)?.value;
  }

  all(): readonly ResultRecord[] {
    return this.records;
  }

  addTrace(entry: TraceEntry): void {
    this.trace.push(entry);
  }
}
