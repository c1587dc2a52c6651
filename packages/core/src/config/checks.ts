/**
 * config/checks.ts — rules across keys that one schema field cannot express.
 *
 * Run by loadConfig after the schema, so `config check`, start-up and SIGHUP
 * all refuse the same configurations with the same message.
 */
import { SmartholdError } from '../errors.js';
import type { Config } from './schema.js';

/** A route to `relay` needs a `[delivery.relay]`. Throws SMARTHOLD_CONFIG_INVALID naming the route. */
export function checkRoutes(delivery: Config['delivery']): void {
  delivery.routes.forEach((route, i) => {
    if (route.transport === 'relay' && !delivery.relay) {
      throw new SmartholdError(
        'SMARTHOLD_CONFIG_INVALID',
        `delivery.routes[${i}] (${route.domains.join(', ')}) routes to "relay", but [delivery.relay] is not configured`,
        { key: `delivery.routes.${i}.transport` },
      );
    }
  });
}
