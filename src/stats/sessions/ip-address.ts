import * as ipaddr from 'ipaddr.js';

/**
 * The canonical text of an IP address, or null when `raw` is not one. IPv4-mapped IPv6 addresses
 * (`::ffff:a.b.c.d`, as Node reports IPv4 clients on a dual-stack socket) become the IPv4 address,
 * and IPv6 is written in its shortest form, so one address always counts as one IP.
 */
export function normalizeIp(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 64) return null;
  const text = raw.trim();
  // Reject the legacy IPv4 notations (octal, hex, fewer than four parts) that ipaddr.parse allows.
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text).toString();
  if (!ipaddr.IPv6.isValid(text)) return null;
  const address = ipaddr.IPv6.parse(text);
  return address.isIPv4MappedAddress() ? address.toIPv4Address().toString() : address.toString();
}
