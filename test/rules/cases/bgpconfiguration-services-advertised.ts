import type { KubeObject } from '../../../src/admission/types.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { RuleCase } from '../case.ts';
import { guide, guideCluster } from '../guide.ts';

const services = YAML.parseAllDocuments(readFileSync(join(import.meta.dirname, '../../fixtures/guide/services.yaml'), 'utf8')).map((d) => d.toJS() as KubeObject);
const bgp = (cidrs: string[] | undefined, name = 'default'): KubeObject => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'BGPConfiguration',
  metadata: { name },
  spec: cidrs === undefined ? {} : { serviceClusterIPs: cidrs.map((cidr) => ({ cidr })) },
});
const cluster = { ...guideCluster(), exposedServices: services };
const old = guide('bgpconfiguration')[0]!;

export const cases: RuleCase[] = [
  { name: 'range kept', operation: 'UPDATE', object: bgp(['10.20.30.0/24', '10.99.0.0/16']), oldObject: old, cluster, expect: [] },
  {
    name: 'range replaced: both exposed Services fall out',
    operation: 'UPDATE',
    object: bgp(['10.99.0.0/16']),
    oldObject: old,
    cluster,
    expect: ['spec.serviceClusterIPs'],
    messageIncludes: ['default/svc-a (10.20.30.40)', 'default/svc-b (10.20.30.41)', '(10.99.0.0/16)'],
  },
  { name: 'range narrowed: svc-b falls out', operation: 'UPDATE', object: bgp(['10.20.30.40/32']), oldObject: old, cluster, expect: ['spec.serviceClusterIPs'], messageIncludes: ['svc-b (10.20.30.41)'] },
  { name: 'serviceClusterIPs removed', operation: 'UPDATE', object: bgp(undefined), oldObject: old, cluster, expect: ['spec.serviceClusterIPs'], messageIncludes: ['(none)'] },
  { name: 'not advertised before either', operation: 'UPDATE', object: bgp(['10.99.0.0/16']), oldObject: bgp(['10.98.0.0/16']), cluster, expect: [] },
  { name: 'another BGPConfiguration', operation: 'UPDATE', object: bgp(['10.99.0.0/16'], 'node.node1'), oldObject: old, cluster, expect: [] },
  { name: 'existing: judged per Service by service-cluster-ip-advertised', mode: 'existing', object: bgp(['10.99.0.0/16']), cluster, expect: [] },
];
