/**
 * index.ts — the sender-auth plugin: manifest, service registration, exports.
 *
 * Provides the `sender-auth` service (service.ts). With check_every_message
 * (the default) it also classifies every message in a data hook, so that the
 * origin, SPF, classification and filtered recipients are in the results
 * (and in `smarthold explain`) whether or not another plugin asks. It never
 * changes a verdict: its hook always answers "continue".
 *
 * @example
 * // smarthold.toml
 * // plugins = ["sender-auth", "quarantine"]
 * // [plugin.sender-auth]
 * // our_domains = ["example.net"]
 * // our_networks = ["192.0.2.0/24"]
 */
import { definePlugin, type PluginManifest, verdict } from '@smarthold/core';
import { senderAuthConfig } from './config.js';
import { type DnsResolver, systemResolver } from './dns.js';
import { readDomainList } from './lists.js';
import { createSenderAuthService, type SenderAuthService } from './service.js';

declare module '@smarthold/core' {
  interface Services {
    'sender-auth': SenderAuthService;
  }
}

/** Things a test or an embedding program may replace. */
export interface SenderAuthPluginOptions {
  /** DNS for SPF and MX lookups (default: node:dns). */
  readonly resolver?: DnsResolver;
  /** Directory relative list-file paths are resolved against (default: process.cwd()). */
  readonly cwd?: string;
  /** Name written into SPF comments (default: the host name). */
  readonly mta?: string;
}

/**
 * Builds the manifest; the default export is `senderAuthPlugin()`.
 *
 * @example
 * await startSmarthold({ plugins: [senderAuthPlugin({ resolver: fakeDns })], config: { plugins: ['sender-auth'] } });
 */
export function senderAuthPlugin(
  opts: SenderAuthPluginOptions = {},
): PluginManifest<typeof senderAuthConfig> {
  return definePlugin({
    name: 'sender-auth',
    version: '0.1.0',
    core: '^1',
    description:
      'origin IP from the trusted Received chain, SPF at that IP, ours / not ours, filtered recipients',
    config: senderAuthConfig,
    provides: ['sender-auth'],
    setup(ctx) {
      const config = ctx.config;
      const cwd = opts.cwd ?? process.cwd();
      const ourDomains = [
        ...config.our_domains,
        ...(config.our_domains_file ? readDomainList(config.our_domains_file, cwd) : []),
      ];
      const filterDomains = [
        ...config.filter_domains,
        ...(config.filter_domains_file ? readDomainList(config.filter_domains_file, cwd) : []),
      ];
      const service = createSenderAuthService({
        config,
        ourDomains,
        filterDomains,
        resolver: opts.resolver ?? systemResolver,
        clock: ctx.clock,
        ...(opts.mta ? { mta: opts.mta } : {}),
      });
      ctx.provide('sender-auth', service);
      ctx.log.debug(
        {
          our_domains: ourDomains.length,
          filter_domains: filterDomains.length,
          mx_patterns: config.filter_mx_patterns.length,
        },
        'sender-auth ready',
      );
      if (config.check_every_message) {
        ctx.hook('data', async (tx) => {
          const c = await service.classify(tx);
          await service.filterRecipients(tx);
          ctx.log.debug(
            { queue_id: tx.queueId, ours: c.ours, reason: c.reason, spf: c.spf.result },
            'sender classified',
          );
          return verdict.next();
        });
      }
    },
  });
}

export default senderAuthPlugin();

export {
  senderAuthConfig,
  type SenderAuthConfig,
  type SenderAuthConfigInput,
  DEFAULT_IGNORE_NETWORKS,
  STRICT_RECEIVERS,
  DEFAULT_OUR_NETWORKS,
} from './config.js';
export type { SenderAuthService, SenderAuthDeps } from './service.js';
export { createSenderAuthService } from './service.js';
export type { SenderClassification, ClassificationReason, ClassifyInput } from './classify.js';
export { classifySender } from './classify.js';
export type { Origin, OriginStep, OriginInput } from './origin.js';
export { findOrigin } from './origin.js';
export type { ParsedReceived } from './received.js';
export { parseReceived } from './received.js';
export type { SpfOutcome, SpfResult, SpfCheckOptions } from './spf.js';
export { checkSpf } from './spf.js';
export type { FilterResult, FilterRule } from './filter.js';
export { RecipientFilter, mxMatches } from './filter.js';
export type { DnsResolver } from './dns.js';
export { systemResolver } from './dns.js';
export { trustedSpf, parseAuthResults, type AuthResultsSpf } from './auth-results.js';
export { domainSet, readDomainList, parseDomainList, ListFileError, type DomainSet } from './lists.js';
