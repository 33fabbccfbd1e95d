import { boundedMemo } from '../../calico/memo.ts';
import { netContains, tryParseNet, type Net } from '../../calico/nets.ts';

/** An IP or CIDR parsed once (addresses and ranges repeat across requests); null when invalid. */
export const netOf: (value: string) => Net | null = boundedMemo(10_000, (value: string) => tryParseNet(value) ?? null);

/** True when network `inner` lies wholly inside network `outer` (same IP family only). */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = netOf(inner);
  const b = netOf(outer);
  return a !== null && b !== null && netContains(b, a);
}

export const withinAny = (inner: string, outers: readonly string[]): boolean => outers.some((o) => cidrWithin(inner, o));
