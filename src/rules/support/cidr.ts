import { netContains, tryParseNet, type Net } from '../../calico/nets.ts';

/** An IP or CIDR, null when invalid (parseNet keeps each valid text's Net, so repeats are cheap). */
export const netOf = (value: string): Net | null => tryParseNet(value) ?? null;

/** True when network `inner` lies wholly inside network `outer` (same IP family only). */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = netOf(inner);
  const b = netOf(outer);
  return a !== null && b !== null && netContains(b, a);
}

export const withinAny = (inner: string, outers: readonly string[]): boolean => outers.some((o) => cidrWithin(inner, o));
