/**
 * metrics.ts — Prometheus series (prom-client), named smarthold_*.
 *
 * One registry per smarthold instance (not prom-client's global one), so tests
 * can run several. Labels never carry addresses. Queue sizes are read from the
 * store when /metrics is scraped.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueStore } from './store/types.js';

export class Metrics {
  readonly registry = new Registry();
  readonly connections = new Counter({
    name: 'smarthold_connections_total',
    help: 'SMTP connections accepted',
    registers: [this.registry],
  });
  readonly connectionsActive = new Gauge({
    name: 'smarthold_connections_active',
    help: 'SMTP connections open now',
    registers: [this.registry],
  });
  readonly connectionsRefused = new Counter({
    name: 'smarthold_connections_refused_total',
    help: 'SMTP connections refused (limits, connect hooks)',
    registers: [this.registry],
  });
  readonly messages = new Counter({
    name: 'smarthold_messages_received_total',
    help: 'messages at the end of DATA, by result (queued, held, rejected, tempfail, discarded)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'smarthold_deliveries_total',
    help: 'recipient delivery attempts, by status (delivered, deferred, bounced)',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly hookSeconds = new Histogram({
    name: 'smarthold_hook_duration_seconds',
    help: 'time spent in plugin hooks',
    labelNames: ['plugin', 'hook'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });

  constructor(store: QueueStore) {
    collectDefaultMetrics({ register: this.registry, prefix: 'smarthold_process_' });
    new Gauge({
      name: 'smarthold_queue_recipients',
      help: 'recipients in the queue store, by state',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const counts = await store.counts();
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
  }
}
