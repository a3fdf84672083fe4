import { isIPv4 } from 'node:net';
import * as ipaddr from 'ipaddr.js';

/**
 * The canonical text of an IP address, or null when `raw` is not one. IPv4-mapped IPv6 addresses
 * (`::ffff:a.b.c.d`, as Node reports IPv4 clients on a dual-stack socket) become the IPv4 address,
 * and IPv6 is written in its shortest form, so one address always counts as one IP. A zone index
 * (`fe80::1%eth0`, as Node reports link-local clients) names the local interface, not the client:
 * it is dropped, so the dashboard only ever lists addresses.
 */
export function normalizeIp(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 64) return null;
  const text = raw.trim();
  // Node accepts only canonical dotted quads here (no octal, hex or short forms): the common case needs no parse.
  if (isIPv4(text)) return text;
  if (!ipaddr.IPv6.isValid(text)) return null;
  const address = ipaddr.IPv6.parse(text);
  if (address.isIPv4MappedAddress()) return address.toIPv4Address().toString();
  address.zoneId = undefined;
  return address.toString();
}
