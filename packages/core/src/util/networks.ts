/**
 * util/networks.ts — CIDR lists ("127.0.0.0/8", "::1/128", "192.0.2.7").
 *
 * A thin wrapper over node:net BlockList that also understands IPv4-mapped IPv6
 * addresses (::ffff:192.0.2.1), which is how a dual-stack listener reports IPv4
 * clients. It does not resolve names.
 */
import net from 'node:net';

/** A parsed list of networks; `has(ip)` tells whether an address falls inside. */
export interface NetworkList {
  has(ip: string): boolean;
  readonly entries: readonly string[];
}

/** Returns the error text for an invalid CIDR entry, or undefined when it is valid. */
export function cidrError(entry: string): string | undefined {
  const [addr, bits, extra] = entry.split('/');
  if (extra !== undefined || !addr) return `"${entry}" is not an address or CIDR block`;
  const family = net.isIP(addr);
  if (family === 0) return `"${entry}" is not an IPv4 or IPv6 address`;
  if (bits !== undefined) {
    const n = Number(bits);
    const max = family === 4 ? 32 : 128;
    if (!/^\d+$/.test(bits) || n > max) return `"${entry}" has a prefix length outside 0..${max}`;
  }
  return undefined;
}

/** Strips the IPv4-mapped prefix so that "::ffff:10.0.0.1" matches "10.0.0.0/8". */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m?.[1] ?? ip;
}

/**
 * Builds a {@link NetworkList}. Entries must already be valid (see {@link cidrError}).
 *
 * @example
 * const relay = networkList(['127.0.0.0/8', '::1/128']);
 * relay.has('::ffff:127.0.0.1'); // true
 */
export function networkList(entries: readonly string[]): NetworkList {
  const list = new net.BlockList();
  for (const entry of entries) {
    const [addr = '', bits] = entry.split('/');
    const type = net.isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  // BlockList.check builds a native SocketAddress per call; a smarthost sees the same few
  // upstream addresses over and over, so answers are remembered (bounded).
  const answers = new Map<string, boolean>();
  return {
    entries: [...entries],
    has(ip: string): boolean {
      const known = answers.get(ip);
      if (known !== undefined) return known;
      const plain = normalizeIp(ip);
      const family = net.isIP(plain);
      const answer = family !== 0 && list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
      if (answers.size >= ANSWERS_MAX) answers.clear();
      answers.set(ip, answer);
      return answer;
    },
  };
}

/** Addresses whose answer a {@link NetworkList} remembers. */
const ANSWERS_MAX = 4096;
