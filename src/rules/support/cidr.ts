import { netContains, tryParseNet, type Net } from '../../calico/nets.ts';

const parsed = new Map<string, Net | null>();

/** An IP or CIDR parsed once (addresses and ranges repeat across requests); null when invalid. */
export function netOf(value: string): Net | null {
  let hit = parsed.get(value);
  if (hit === undefined) {
    hit = tryParseNet(value) ?? null;
    if (parsed.size >= 10_000) parsed.clear();
    parsed.set(value, hit);
  }
  return hit;
}

/** True when network `inner` lies wholly inside network `outer` (same IP family only). */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = netOf(inner);
  const b = netOf(outer);
  return a !== null && b !== null && netContains(b, a);
}

export const withinAny = (inner: string, outers: readonly string[]): boolean => outers.some((o) => cidrWithin(inner, o));
