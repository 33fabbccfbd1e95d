/**
 * The guide's full set of host-endpoint policies (test/fixtures/guide), in the rig's address
 * plan, and the claims real packets must bear out. The guide's client networks become
 * documentation ranges: 50.60.0.0/16 → 198.51.100.0/26 (clients .10 and .11), 70.80.90.0/24 →
 * 203.0.113.0/24; its cluster IPs (10.20.30.40/41) and pod CIDR (192.168.0.0/16) are the rig's.
 * 198.51.100.200 is on no list: the unlisted client.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import type { KubeObject } from '../../src/admission/types.ts';
import { RIG_LABEL } from './generate.ts';
import { CLUSTER_IPS, NODE_IP, POD_IP, SERVICE_CIDR, type ProbeSpec } from './topology.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/guide');
const NETS: Record<string, string> = { '50.60.0.0/16': '198.51.100.0/26', '70.80.90.0/24': '203.0.113.0/24' };

export interface Claim {
  readonly text: string;
  readonly probe: ProbeSpec;
  readonly delivered: boolean;
}

export interface GuideStep {
  readonly name: string;
  readonly policies: KubeObject[];
  readonly claims: Claim[];
}

/** A v3 fixture as calico-apiserver stores it (crd.projectcalico.org/v1, "default.<name>"). */
export function stored(v3: KubeObject): KubeObject {
  const text = JSON.stringify(v3).replace(/"(50\.60\.0\.0\/16|70\.80\.90\.0\/24)"/g, (_, net: string) => `"${NETS[net]}"`);
  const obj = JSON.parse(text) as KubeObject;
  return {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: obj.kind,
    metadata: { name: `default.${obj.metadata!.name}`, labels: { [RIG_LABEL]: 'guide' } },
    spec: { tier: 'default', ...obj.spec },
  };
}

const fixture = async (name: string) => stored(YAML.parse(await readFile(join(FIXTURES, `${name}.yaml`), 'utf8')) as KubeObject);
const tcp = (src: string, target: ProbeSpec['target'], dst: string, port: number): ProbeSpec => ({ proto: 'tcp', src, target, dst, port });

const ALLOWED = '198.51.100.10';
const UNLISTED = '198.51.100.200';

export async function guideSteps(): Promise<GuideStep[]> {
  const policies = await Promise.all(['allow-cluster-ips', 'allow-to-pods', 'allow-traffic-hostendpoints'].map(fixture));
  const shared: Claim[] = [
    { text: 'pod traffic through the hosts (allow-to-pods)', probe: tcp(UNLISTED, 'pod-ip', POD_IP, 80), delivered: true },
    { text: 'host traffic outside node ports (allow-traffic-hostendpoints)', probe: tcp(UNLISTED, 'node-ip', NODE_IP, 80), delivered: true },
    { text: 'host traffic to a node port is not allowed (host endpoint default deny)', probe: tcp(UNLISTED, 'node-ip', NODE_IP, 30080), delivered: false },
    { text: 'an allowed client reaches cluster IP A', probe: tcp(ALLOWED, 'cluster-ip', CLUSTER_IPS[0], 80), delivered: true },
    { text: 'a client allowed for cluster IP B only', probe: tcp('203.0.113.10', 'cluster-ip', CLUSTER_IPS[1], 443), delivered: true },
  ];
  // The missing Deny: pre-DNAT, for the service CIDR, ordered after the allows (no order, and a
  // name that sorts after theirs, as they have no order either).
  const deny = stored({
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'deny-cluster-ips' },
    spec: { selector: "k8s-role == 'node'", types: ['Ingress'], preDNAT: true, applyOnForward: true, ingress: [{ action: 'Deny', destination: { nets: [SERVICE_CIDR] } }] },
  });
  return [
    {
      name: 'as published (fixed)',
      policies,
      claims: [...shared, { text: 'an unlisted client reaches cluster IP A too (the gap)', probe: tcp(UNLISTED, 'cluster-ip', CLUSTER_IPS[0], 80), delivered: true }],
    },
    {
      name: 'with the pre-DNAT Deny for the service CIDR',
      policies: [...policies, deny],
      claims: [...shared, { text: 'the unlisted client is dropped once the Deny is added', probe: tcp(UNLISTED, 'cluster-ip', CLUSTER_IPS[0], 80), delivered: false }],
    },
  ];
}
