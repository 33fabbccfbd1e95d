import ipaddr from 'ipaddr.js';

/**
 * True for an IPv4/IPv6 CIDR or a bare address (Calico and Kubernetes accept both). Used as the
 * JSON Schema `format: "cidr"` for the config and the GlobalNetworkPolicy schema.
 * @example isCidr('10.96.0.0/12') // true
 */
export function isCidr(value: string): boolean {
  if (value.includes('/')) {
    try {
      ipaddr.parseCIDR(value);
      return true;
    } catch {
      return false;
    }
  }
  return ipaddr.isValid(value) && (ipaddr.IPv4.isValidFourPartDecimal(value) || ipaddr.IPv6.isValid(value));
}
