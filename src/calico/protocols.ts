/**
 * Rule `protocol` / `notProtocol` (api/pkg/lib/numorstring/protocol.go): one of
 * the names TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite (any letter case;
 * `ProtocolFromString` folds it) or a protocol number 1–255 (a YAML int, or a
 * string of digits, which `NumValue` converts). Felix matches on the number,
 * so `TCP`, `tcp` and `6` are the same protocol.
 */

export type ProtocolName = 'TCP' | 'UDP' | 'ICMP' | 'ICMPv6' | 'SCTP' | 'UDPLite';

const PROTOCOL_NUMBERS: Readonly<Record<ProtocolName, number>> = Object.freeze({
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ICMPv6: 58,
  SCTP: 132,
  UDPLite: 136,
});

const BY_LOWER_NAME = new Map<string, number>(
  Object.entries(PROTOCOL_NUMBERS).map(([name, n]) => [name.toLowerCase(), n]),
);

/** A protocol as written in a rule or a flow: a name or a number. */
export type ProtocolSpec = ProtocolName | string | number;

export class ProtocolSyntaxError extends Error {
  readonly input: unknown;
  constructor(input: unknown) {
    // Only strings and numbers are shown as written: String() of an object may run its own toString.
    const shown = typeof input === 'string' ? JSON.stringify(input) : typeof input === 'number' ? String(input) : typeof input;
    super(`${shown} is not a protocol: expected TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number from 1 to 255`);
    this.name = 'ProtocolSyntaxError';
    this.input = input;
  }
}

/**
 * The protocol number for a name or number. Throws ProtocolSyntaxError.
 * @example protocolNumber('tcp')  // 6
 * @example protocolNumber(132)    // 132
 */
export function protocolNumber(value: unknown): number {
  let n: number | undefined;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string') n = /^[0-9]+$/.test(value) ? Number(value) : BY_LOWER_NAME.get(value.toLowerCase());
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > 255) throw new ProtocolSyntaxError(value);
  return n;
}

/** protocolNumber without the throw: undefined for anything that is not a protocol. */
export function tryProtocolNumber(value: unknown): number | undefined {
  try {
    return protocolNumber(value);
  } catch {
    return undefined;
  }
}

/** Display name: `TCP` for 6, `protocol 47` for numbers without a name. */
export function protocolName(n: number): string {
  return Object.keys(PROTOCOL_NUMBERS).find((name) => PROTOCOL_NUMBERS[name as ProtocolName] === n) ?? `protocol ${n}`;
}

/** TCP, UDP and SCTP carry ports; Calico allows `ports` only with them (`SupportsPorts`). */
export function protocolSupportsPorts(n: number): boolean {
  return n === 6 || n === 17 || n === 132;
}

/**
 * Whether a packet of protocol `packet` passes a rule's `protocol` and
 * `notProtocol` (numbers; undefined = not set, i.e. any protocol).
 * @example protocolMatches(6, { protocol: 6 })      // true
 * @example protocolMatches(6, { notProtocol: 17 })  // true
 */
export function protocolMatches(packet: number, rule: { protocol?: number | undefined; notProtocol?: number | undefined }): boolean {
  if (rule.protocol !== undefined && rule.protocol !== packet) return false;
  if (rule.notProtocol !== undefined && rule.notProtocol === packet) return false;
  return true;
}
