import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import type { KubeObject } from '../../../src/admission/types.ts';
import { exposedService, tweak, withLabels } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';
import { guideCluster, policy } from '../guide.ts';

const deny = YAML.parse(readFileSync(new URL('../../fixtures/guide-with-deny/deny-cluster-ips.yaml', import.meta.url), 'utf8')) as KubeObject;
const svcA: KubeObject = tweak(exposedService, { spec: { clusterIP: '10.20.30.40', ports: [{ port: 443, protocol: 'TCP', targetPort: 8443 }] } });
const svcB: KubeObject = tweak(exposedService, { metadata: { name: 'svc-b' }, spec: { clusterIP: '10.20.30.41' } });
const edgeHep: KubeObject = { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'edge1-eth0', labels: { 'k8s-role': 'node', zone: 'edge' } }, spec: { node: 'edge1', interfaceName: 'eth0', expectedIPs: ['10.0.1.11'] } };
const guideHeps = guideCluster().hostEndpoints!;

export const cases: RuleCase[] = [
  {
    name: "the guide's policies alone: every source but 50.60.0.0/16 reaches svc-a by default",
    object: svcA,
    cluster: guideCluster(),
    expect: ['spec.clusterIP'],
    messageIncludes: ['port 443/TCP is reachable from 0.0.0.0/0 except 50.60.0.0/16', '"node1-eth0", "node2-eth0"', 'no applyOnForward policy selects these host endpoints', '"action":"Deny"', '"nets":["10.20.30.0/24"]', 'deny-cluster-ips'],
  },
  { name: 'svc-b likewise (except 70.80.90.0/24)', object: svcB, cluster: guideCluster(), expect: ['spec.clusterIP'], messageIncludes: ['0.0.0.0/0 except 70.80.90.0/24'] },
  { name: 'the guide plus the deny: closed', object: svcA, cluster: guideCluster({ plus: [deny] }), expect: [] },
  {
    name: 'ordered allows: the fix goes at a higher order',
    object: svcA,
    cluster: guideCluster({ without: ['allow-cluster-ips'], plus: [policy('allow-svc-a', { order: 100, preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Allow', source: { nets: ['50.60.0.0/16'] }, destination: { nets: ['10.20.30.40/32'] } }] })] }),
    expect: ['spec.clusterIP'],
    messageIncludes: ['"order":110', 'at order 110, after "allow-svc-a"'],
  },
  {
    name: 'a normal applyOnForward policy turns on the forward default deny: closed',
    object: svcA,
    cluster: guideCluster({ plus: [policy('admin-ssh', { applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', source: { nets: ['192.0.2.0/24'] }, destination: { ports: [22] } }] })] }),
    expect: [],
  },
  {
    name: 'two host-endpoint groups, one still open: the message names it',
    object: svcA,
    cluster: { ...guideCluster({ plus: [policy('edge-deny', { selector: "zone != 'edge'", preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny', destination: { nets: ['10.20.30.0/24'] } }] })] }), hostEndpoints: [...guideHeps, edgeHep] },
    expect: ['spec.clusterIP'],
    messageIncludes: ['through host endpoints "edge1-eth0"'],
  },
  { name: 'not exposed', object: withLabels(svcA, {}), cluster: guideCluster(), expect: [] },
  { name: 'Local mode is left to the pod policy', object: tweak(svcA, { spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' } }), cluster: guideCluster(), expect: [] },
  { name: 'static fallback: policies unknown', object: svcA, expect: [] },
];
