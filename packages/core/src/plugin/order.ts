/**
 * plugin/order.ts — the order plugins set up and run in.
 *
 * Order comes from the requires/provides graph, not from priorities: a plugin
 * runs after every plugin that provides a service it requires (or uses, when
 * optional). Among plugins free to go, configuration order decides. A missing
 * required service or a cycle stops start-up with a message naming the
 * plugins. Pure: no loading, no I/O.
 */
import { SmartholdError } from '../errors.js';

/** What ordering needs to know about a plugin. */
export interface OrderNode {
  readonly name: string;
  readonly provides: readonly string[];
  readonly requires: readonly string[];
  readonly optional: readonly string[];
}

/** Returns the nodes in run order. Throws SMARTHOLD_PLUGIN_MISSING_SERVICE or SMARTHOLD_PLUGIN_CYCLE. */
export function orderPlugins<T extends OrderNode>(nodes: readonly T[]): T[] {
  const providers = new Map<string, T[]>();
  for (const n of nodes) {
    for (const s of n.provides) providers.set(s, [...(providers.get(s) ?? []), n]);
  }
  const deps = new Map<T, Set<T>>();
  for (const n of nodes) {
    const set = new Set<T>();
    for (const s of n.requires) {
      const p = providers.get(s);
      if (!p?.length) {
        const loaded = nodes.map((x) => x.name).join(', ') || 'none';
        throw new SmartholdError(
          'SMARTHOLD_PLUGIN_MISSING_SERVICE',
          `plugin "${n.name}" requires the service "${s}", which no loaded plugin provides (loaded: ${loaded}); ` +
            `add a plugin that provides "${s}" to \`plugins\` or remove "${n.name}"`,
        );
      }
      for (const x of p) if (x !== n) set.add(x);
    }
    for (const s of n.optional) for (const x of providers.get(s) ?? []) if (x !== n) set.add(x);
    deps.set(n, set);
  }
  const out: T[] = [];
  const done = new Set<T>();
  while (out.length < nodes.length) {
    const next = nodes.find((n) => !done.has(n) && [...(deps.get(n) ?? [])].every((d) => done.has(d)));
    if (!next) {
      const stuck = nodes.filter((n) => !done.has(n));
      const edges = stuck
        .map(
          (n) =>
            `"${n.name}" needs ${[...(deps.get(n) ?? [])]
              .filter((d) => !done.has(d))
              .map((d) => `"${d.name}"`)
              .join(', ')}`,
        )
        .join('; ');
      throw new SmartholdError('SMARTHOLD_PLUGIN_CYCLE', `plugins require each other in a cycle: ${edges}`);
    }
    out.push(next);
    done.add(next);
  }
  return out;
}
