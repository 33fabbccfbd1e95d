/**
 * ajv set-up for the chart tests. src/config/schema.json uses a custom `"format": "cidr"`; helm's
 * validator ignores unknown formats, so the tests check it here with ipaddr.js, the same library
 * the webhook uses.
 *
 * @example
 *   const validate = addCidrFormat(new Ajv({ strict: true })).compile(schema);
 */
import type { Ajv } from 'ajv';
import ipaddr from 'ipaddr.js';

/** True when `value` is an IPv4 or IPv6 CIDR such as "10.96.0.0/12" or "fd00::/64". */
export function isCidr(value: string): boolean {
  try {
    ipaddr.parseCIDR(value);
    return true;
  } catch {
    return false;
  }
}

/** Registers the `cidr` string format on an ajv instance and returns it. */
export function addCidrFormat(ajv: Ajv): Ajv {
  return ajv.addFormat('cidr', { type: 'string', validate: isCidr });
}
