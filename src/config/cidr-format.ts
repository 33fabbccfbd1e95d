import { tryParseNet } from '../calico/nets.ts';

/**
 * True for an IPv4/IPv6 CIDR or a bare address (Calico and Kubernetes accept both). Used as the
 * JSON Schema `format: "cidr"` for the config and the GlobalNetworkPolicy schema.
 * @example isCidr('10.96.0.0/12') // true
 */
export const isCidr = (value: string): boolean => tryParseNet(value) !== undefined;
