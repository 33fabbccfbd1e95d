import { preDNATPolicy as p, tweak } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';

const rule = (r: unknown) => tweak(p, { spec: { ingress: [r] } });

export const cases: RuleCase[] = [
  { name: 'valid preDNAT policy', object: p, expect: [] },
  { name: 'valid with ports, protocol numbers and names', object: rule({ action: 'Allow', protocol: 6, destination: { ports: [80, '443', '30000:32767', 'http-alt'] } }), expect: [] },
  { name: 'valid IPv6', object: rule({ action: 'Deny', ipVersion: 6, source: { nets: ['fd00::/8'] }, destination: { notNets: ['fd00:1::1'] } }), expect: [] },
  { name: 'valid crd.projectcalico.org tiered name', object: tweak(p, { apiVersion: 'crd.projectcalico.org/v1', metadata: { name: 'default.allow-cluster-ips' } }), expect: [] },
  { name: 'comment text inside nets', object: rule({ action: 'Allow', destination: { nets: ['10.20.30.40/32 Cluster IP A'] } }), expect: ['spec.ingress[0].destination.nets[0]'], messageIncludes: ['is not an IP address or CIDR', '#'] },
  {
    name: 'rules nested under types',
    object: tweak(p, { spec: { ingress: undefined, types: ['Ingress', { action: 'Allow', protocol: 'TCP' }] } }),
    expect: ['spec.types[1]'],
    messageIncludes: ['"ingress:" key'],
  },
  { name: 'types entries with an own valueOf key', object: tweak(p, { spec: { types: [{ valueOf: 1 }, { valueOf: 1 }] } }), expect: ['spec.types'], messageIncludes: ['as strings'] },
  { name: 'unknown spec field', object: tweak(p, { spec: { preDnat: true } }), expect: ['spec.preDnat'], messageIncludes: ['unknown field'] },
  { name: 'unknown action', object: rule({ action: 'Accept' }), expect: ['spec.ingress[0].action'] },
  { name: 'bad protocol', object: rule({ action: 'Allow', protocol: 'HTTP' }), expect: ['spec.ingress[0].protocol'], messageIncludes: ['TCP, UDP'] },
  { name: 'ports without protocol', object: rule({ action: 'Allow', destination: { ports: [80] } }), expect: ['spec.ingress[0].destination.ports'], messageIncludes: ['protocol is not set'] },
  { name: 'ports with ICMP', object: rule({ action: 'Allow', protocol: 'ICMP', destination: { ports: [80] } }), expect: ['spec.ingress[0].destination.ports'] },
  { name: 'reversed port range', object: rule({ action: 'Allow', protocol: 'TCP', destination: { notPorts: ['32767:30000'] } }), expect: ['spec.ingress[0].destination.notPorts[0]'] },
  { name: 'port out of range', object: rule({ action: 'Allow', protocol: 'TCP', destination: { ports: [70000] } }), expect: ['spec.ingress[0].destination.ports[0]'] },
  { name: 'mixed IP versions', object: rule({ action: 'Allow', source: { nets: ['10.0.0.0/8'] }, destination: { nets: ['fd00::/8'] } }), expect: ['spec.ingress[0]'] },
  { name: 'bad selector', object: tweak(p, { spec: { selector: "k8s-role = 'node'" } }), expect: ['spec.selector'], messageIncludes: ['position'] },
  { name: 'bad rule selector', object: rule({ action: 'Allow', destination: { selector: "k8s-role == 'node" } }), expect: ['spec.ingress[0].destination.selector'] },
  { name: 'types out of enum', object: tweak(p, { spec: { types: ['ingress'] } }), expect: ['spec.types[0]'] },
  { name: 'icmp without ICMP protocol', object: rule({ action: 'Allow', protocol: 'TCP', icmp: { type: 8 } }), expect: ['spec.ingress[0].icmp'] },
  { name: 'bad name', object: tweak(p, { metadata: { name: 'Allow_Cluster' } }), expect: ['metadata.name'] },
  { name: 'port as text out of range, on the source side', object: rule({ action: 'Allow', protocol: 'UDP', source: { ports: ['53', '0'] } }), expect: ['spec.ingress[0].source.ports[1]'], messageIncludes: ['port 0 must be between 1 and 65535'] },
  { name: 'bad service account selector', object: rule({ action: 'Allow', source: { serviceAccounts: { selector: 'app ==' } } }), expect: ['spec.ingress[0].source.serviceAccounts.selector'] },
  { name: 'ipVersion against the nets', object: rule({ action: 'Allow', ipVersion: 6, destination: { nets: ['10.0.0.0/8'] } }), expect: ['spec.ingress[0].ipVersion'], messageIncludes: ['does not match'] },
  { name: 'services with nets', object: rule({ action: 'Allow', destination: { services: { name: 'kubernetes', namespace: 'default' }, nets: ['10.0.0.0/8'] } }), expect: ['spec.ingress[0].destination.services'] },
];
