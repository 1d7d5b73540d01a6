/**
 * Whether a connection's own (socket) address is one of the proxies of
 * OTPGATE_TRUST_PROXY. With TLS off the server answers only those (and loopback); the
 * forward-auth gate's endpoints, which believe what a proxy forwards, answer only those.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

// The names proxy-addr (Fastify's trustProxy) accepts, as ranges.
const NAMED_RANGES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** `::ffff:192.0.2.1` as `192.0.2.1`; other addresses unchanged. */
function unmapped(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

/** A test for "is this peer one of `entries` (addresses, CIDR ranges, proxy-addr names)"; no entries, no peer. */
export function createPeerFilter(entries: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of entries.flatMap((e) => NAMED_RANGES[e] ?? [e])) {
    const [raw = '', prefix] = entry.split('/');
    const address = unmapped(raw);
    const family = isIPv4(address) ? 'ipv4' : 'ipv6';
    // A mapped range (::ffff:10.0.0.0/104) is the IPv4 range of its last 32 bits.
    const bits = prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix) - (address !== raw ? 96 : 0);
    list.addSubnet(address, bits, family);
  }
  return (peer) => {
    if (peer === undefined) return false;
    const address = unmapped(peer.replace(/%.*$/, ''));
    if (isIPv4(address)) return list.check(address, 'ipv4');
    return isIPv6(address) && list.check(address, 'ipv6');
  };
}
