/**
 * http/server.ts — the one HTTP listener: /health, /metrics, plugin routes.
 *
 * Fastify on loopback by default. Plugins register their routes through
 * ctx.http() during setup; each registration is its own Fastify plugin
 * (encapsulated). It does not serve anything else by itself.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AddressInfo } from 'node:net';
import type { Metrics } from '../metrics.js';

export interface HttpDeps {
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly health: () => Promise<{ ok: boolean; detail: Record<string, unknown> }>;
}

/** Creates the Fastify instance with the core routes. Plugins add theirs before `listen`. */
export function createHttp(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    // Request lines are debug-level noise for an MTA; errors still log.
    loggerInstance: deps.log.child({ component: 'http' }, { level: 'warn' }),
  }) as unknown as FastifyInstance;
  app.get('/health', async (_req, res) => {
    const h = await deps.health();
    return res.code(h.ok ? 200 : 503).send({ status: h.ok ? 'ok' : 'fail', ...h.detail });
  });
  app.get('/metrics', async (_req, res) => {
    const body = await deps.metrics.registry.metrics();
    return res.header('content-type', deps.metrics.registry.contentType).send(body);
  });
  return app;
}

/** Starts listening; resolves with the bound address. */
export async function listenHttp(app: FastifyInstance, host: string, port: number): Promise<AddressInfo> {
  await app.listen({ host, port });
  return app.server.address() as AddressInfo;
}
