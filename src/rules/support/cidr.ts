import ipaddr from 'ipaddr.js';

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

const parsed = new Map<string, Cidr | null>();

/** Parses an IP or CIDR once (bare IPs become /32 or /128); null when invalid. */
export function parseCidrCached(value: string): Cidr | null {
  let hit = parsed.get(value);
  if (hit !== undefined) return hit;
  try {
    hit = value.includes('/') ? ipaddr.parseCIDR(value) : (() => {
      const ip = ipaddr.parse(value);
      return [ip, ip.kind() === 'ipv4' ? 32 : 128] as Cidr;
    })();
  } catch {
    hit = null;
  }
  if (parsed.size > 10_000) parsed.clear();
  parsed.set(value, hit);
  return hit;
}

/** True when network `inner` lies wholly inside network `outer` (same IP family only). */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = parseCidrCached(inner);
  const b = parseCidrCached(outer);
  if (a === null || b === null || a[0].kind() !== b[0].kind() || a[1] < b[1]) return false;
  return (a[0] as ipaddr.IPv4).match(b as [ipaddr.IPv4, number]);
}

export const withinAny = (inner: string, outers: readonly string[]): boolean => outers.some((o) => cidrWithin(inner, o));
