/**
 * origin.ts — where did the message enter the operator's network?
 *
 * Walks the trusted part of the Received chain (RFC 5321 §4.4: each relay
 * prepends its line, so the topmost line was written last). The start is the
 * connecting client: if it is external, it is the entry. Otherwise the client
 * is one of ours and wrote the topmost Received line (smarthold's own line is
 * not in the header block); the address that line names in its from clause
 * is where the message came from. While that address is ours (or ignored),
 * the host at that address wrote the next line down, so we read on; the first
 * external address is the entry, with the HELO the same line recorded. Lines
 * below the entry were written by hosts we do not run and are never read, so
 * forged lines planted there change nothing.
 *
 * Local hand-overs (qmail's "invoked from network", a forwarder re-injecting,
 * Postfix pickup) carry no address; the walk goes on past them, because the
 * line below was written by the same host. A line that must be read and
 * cannot be parsed stops the walk with "unparseable": we never guess.
 *
 * Pure: no DNS, no I/O.
 */
import type { NetworkList } from '@smarthold/core';
import { normalizeIp } from '@smarthold/core';
import { parseReceived } from './received.js';

/** One step of the walk, for explain. */
export interface OriginStep {
  /** Index of the Received line (0 = topmost), or -1 for the connecting client. */
  readonly line: number;
  readonly ip?: string;
  readonly by?: string;
  /** How the address was judged: `ours`, `ignored`, `external`, or `local` for a hand-over without one. */
  readonly as: 'ours' | 'ignored' | 'external' | 'local';
}

/** Where the message entered. Plain JSON data. */
export type Origin =
  | {
      /** The message entered from outside at `ip`. */
      readonly kind: 'external';
      readonly ip: string;
      /** The HELO name the entry host gave, when recorded. */
      readonly helo?: string;
      readonly rdns?: string;
      /** Which Received line named the entry (0 = topmost), or -1 when the connecting client is the entry. */
      readonly line: number;
      readonly steps: readonly OriginStep[];
    }
  | {
      /** No external hop: the message was written inside our (or ignored) networks. */
      readonly kind: 'internal';
      /** The deepest address seen that is in our networks and not ignored (a public address of ours), if any. */
      readonly ip?: string;
      readonly steps: readonly OriginStep[];
    }
  | {
      /** A line the walk had to read could not be parsed. */
      readonly kind: 'unparseable';
      readonly line: number;
      readonly text: string;
      readonly reason: string;
      readonly steps: readonly OriginStep[];
    };

/** What the walk needs. */
export interface OriginInput {
  /** The connecting client's address (session.remoteAddress). */
  readonly clientIp: string;
  /** The HELO the connecting client gave. */
  readonly clientHelo?: string | undefined;
  /** The Received field values, topmost first. */
  readonly received: readonly string[];
  readonly ourNetworks: NetworkList;
  readonly ignoreNetworks: NetworkList;
}

/**
 * Finds the origin.
 *
 * @example
 * findOrigin({ clientIp: '127.0.0.1', received: ['from a (a [192.0.2.9]) by mx.example.net ...'], ourNetworks, ignoreNetworks });
 * // { kind: 'external', ip: '192.0.2.9', helo: 'a', line: 0, steps: [...] }
 */
export function findOrigin(input: OriginInput): Origin {
  const steps: OriginStep[] = [];
  let ours: string | undefined;
  const judge = (ip: string): OriginStep['as'] => {
    // Ignored wins over ours: 127.0.0.0/8 is in both lists by default and is not a public address of ours.
    if (input.ignoreNetworks.has(ip)) return 'ignored';
    if (input.ourNetworks.has(ip)) return 'ours';
    return 'external';
  };

  const client = normalizeIp(input.clientIp);
  const clientAs = judge(client);
  steps.push({ line: -1, ip: client, as: clientAs });
  if (clientAs === 'external') {
    return {
      kind: 'external',
      ip: client,
      ...(input.clientHelo ? { helo: input.clientHelo } : {}),
      line: -1,
      steps,
    };
  }
  if (clientAs === 'ours') ours = client;

  for (const [i, text] of input.received.entries()) {
    const parsed = parseReceived(text);
    if (parsed.kind === 'unparseable') {
      return { kind: 'unparseable', line: i, text, reason: parsed.reason, steps };
    }
    const by = parsed.by === undefined ? {} : { by: parsed.by };
    if (parsed.kind === 'local') {
      steps.push({ line: i, ...by, as: 'local' });
      continue;
    }
    const as = judge(parsed.ip);
    steps.push({ line: i, ip: parsed.ip, ...by, as });
    if (as === 'ours') ours = parsed.ip;
    if (as !== 'external') continue;
    return {
      kind: 'external',
      ip: parsed.ip,
      ...(parsed.helo === undefined ? {} : { helo: parsed.helo }),
      ...(parsed.rdns === undefined ? {} : { rdns: parsed.rdns }),
      line: i,
      steps,
    };
  }
  return { kind: 'internal', ...(ours === undefined ? {} : { ip: ours }), steps };
}
