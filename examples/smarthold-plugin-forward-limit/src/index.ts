/**
 * index.ts — the forward-limit plugin: manifest, data hook, admin route, prune job.
 *
 * A per-source-mailbox rate limit for forwarded mail. In a data hook it asks
 * source.ts which of our mailboxes forwarded the message (with the
 * `sender-auth` service's `ourDomain()` and `origin()`, no DNS), counts the
 * message in that mailbox's window (counters.ts, in smarthold's database),
 * records both findings in the results (`smarthold explain` shows them), and
 * over the limit holds the message or tempfails it. Mail with no forwarding
 * mailbox of ours is not counted and always continues.
 *
 * @example
 * // smarthold.toml
 * // plugins = ["sender-auth", "forward-limit"]
 * // [plugin.sender-auth]
 * // our_domains = ["isp.example"]
 * // [plugin.forward-limit]
 * // max_messages = 200
 * // window = "1h"
 */
import { definePlugin, type Json, type Kysely, type PluginManifest, verdict } from '@smarthold/core';
import type {} from '@smarthold/plugin-sender-auth'; // the `sender-auth` entry of Services
import { forwardLimitConfig } from './config.js';
import { ForwardLimiter, type ForwardLimitTables, kyselyCounters, migrationsFor } from './counters.js';
import { renderTopHtml, type TopReport, wantsHtml } from './http.js';
import { findSource } from './source.js';

/** The results store keeps JSON only; the values recorded here are built from JSON parts. */
const json = (value: object): Json => value as unknown as Json;

/** Builds the manifest; the default export is `forwardLimitPlugin()`. */
export function forwardLimitPlugin(): PluginManifest<typeof forwardLimitConfig> {
  return definePlugin({
    name: 'forward-limit',
    version: '0.1.0',
    core: '^1',
    description: 'per-source-mailbox rate limit for forwarded mail: over the limit, hold or tempfail',
    config: forwardLimitConfig,
    requires: ['sender-auth'],
    async setup(ctx) {
      const config = ctx.config;
      const auth = ctx.service('sender-auth');
      await ctx.data.migrate(migrationsFor(ctx.data.dialect));
      const db = ctx.data.db as Kysely<ForwardLimitTables>;
      const limiter = new ForwardLimiter(kyselyCounters(db, ctx.data.dialect), ctx.clock, {
        windowMs: config.window,
        max: config.max_messages,
        mode: config.window_mode,
      });
      const exempt = new Set(config.exempt);

      ctx.hook(
        'data',
        async (tx) => {
          const source = findSource(
            {
              header: (name) => tx.headers.get(name),
              from: tx.from,
              ourDomain: (a) => auth.ourDomain(a),
              originKind: () => auth.origin(tx).kind,
            },
            {
              headers: config.source_headers,
              requireOurDomain: config.require_our_domain,
              envelopeSender: config.envelope_sender,
            },
          );
          tx.results.set('source', json(source));
          if (source.mailbox === null) return verdict.next();
          if (exempt.has(source.mailbox)) {
            tx.results.set('limit', json({ mailbox: source.mailbox, exempt: true }));
            return verdict.next();
          }
          const r = await limiter.hit(source.mailbox);
          tx.results.set(
            'limit',
            json({
              ...r,
              window_ms: config.window,
              mode: config.window_mode,
              action: r.over ? config.action : 'none',
            }),
          );
          if (!r.over) return verdict.next();
          const why = `forward-limit: ${source.mailbox} forwarded ${r.estimate} messages within ${config.window} ms, limit ${r.max}`;
          ctx.log.warn(
            {
              queue_id: tx.queueId,
              mailbox: source.mailbox,
              count: r.estimate,
              max: r.max,
              action: config.action,
            },
            why,
          );
          return config.action === 'hold'
            ? verdict.hold(why)
            : verdict.tempfail(`${why}; try again later`, { code: 451, enhanced: '4.7.0' });
        },
        // A broken counter store must not stop all mail: log it and let the message through.
        { onError: 'continue' },
      );

      ctx.http((app) => {
        app.get<{ Querystring: { limit?: string } }>('/forward-limit/top', async (req, reply) => {
          const asked = Number(req.query.limit);
          const limit = Number.isInteger(asked) && asked > 0 ? Math.min(asked, 1000) : config.top_default;
          const report: TopReport = {
            now: new Date(ctx.clock.now()).toISOString(),
            window_ms: config.window,
            window_mode: config.window_mode,
            max_messages: config.max_messages,
            top: await limiter.top(limit),
          };
          reply.header('cache-control', 'no-store');
          if (wantsHtml(req.headers.accept)) {
            return reply
              .type('text/html; charset=utf-8')
              .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
              .send(renderTopHtml(report));
          }
          return reply.send(report);
        });
      });

      ctx.job('prune', { everyMs: config.prune_every }, async () => {
        const n = await limiter.prune();
        if (n) ctx.log.debug({ rows: n }, 'forward-limit: pruned expired windows');
      });
    },
  });
}

export default forwardLimitPlugin();

export { forwardLimitConfig, type ForwardLimitConfig, type ForwardLimitConfigInput } from './config.js';
export {
  ForwardLimiter,
  kyselyCounters,
  migrationsFor,
  type Dialect,
  type CounterRow,
  type CounterStore,
  type ForwardLimitTables,
  type LimitResult,
  type LimiterOptions,
  type TopEntry,
} from './counters.js';
export { findSource, addressIn, type Source, type SourceInput, type SourceOptions } from './source.js';
export { effectiveCount, pruneBefore, windowStart, type WindowMode } from './window.js';
export { escapeHtml, renderTopHtml, wantsHtml, type TopReport } from './http.js';
