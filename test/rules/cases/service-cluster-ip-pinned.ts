import { exposedService as svc, tweak, withLabels } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';

const unpinned = tweak(svc, { spec: { clusterIP: undefined } });

export const cases: RuleCase[] = [
  { name: 'exposed with pinned IP', object: svc, expect: [] },
  { name: 'exposed with dual-stack clusterIPs only', object: tweak(unpinned, { spec: { clusterIPs: ['10.96.0.40', 'fd00::40'] } }), expect: [] },
  { name: 'not exposed, no IP', object: withLabels(unpinned, { app: 'a' }), expect: [] },
  { name: 'label value other than "true"', object: withLabels(unpinned, { 'clusterip-guard.io/exposed': 'false' }), expect: [] },
  { name: 'Local mode needs no pin', object: tweak(unpinned, { spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' } }), expect: [] },
  { name: 'ExternalName has no cluster IP', object: tweak(unpinned, { spec: { type: 'ExternalName', externalName: 'x.example.com' } }), expect: [] },
  { name: 'headless is another rule', object: tweak(svc, { spec: { clusterIP: 'None' } }), expect: [] },
  { name: 'exposed, no IP', object: unpinned, expect: ['spec.clusterIP'], messageIncludes: ['shop/svc-a', 'label clusterip-guard.io/exposed=true', 'Fix: set spec.clusterIP'] },
  { name: 'exposed, empty string IP', object: tweak(svc, { spec: { clusterIP: '' } }), expect: ['spec.clusterIP'] },
  { name: 'NodePort in cluster mode', object: tweak(unpinned, { spec: { type: 'NodePort' } }), expect: ['spec.clusterIP'] },
  { name: 'exposed by namespace', object: withLabels(unpinned, {}), config: { exposure: { namespaces: ['shop'] } }, expect: ['spec.clusterIP'], messageIncludes: ['exposure.namespaces'] },
  {
    name: 'exposed by selector',
    object: withLabels(unpinned, { tier: 'edge' }),
    config: { exposure: { selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['edge'] }] } } },
    expect: ['spec.clusterIP'],
    messageIncludes: ['exposure.selector'],
  },
  { name: 'custom label key', object: withLabels(unpinned, { 'bgp.example.com/advertise': 'true' }), config: { exposure: { label: 'bgp.example.com/advertise' } }, expect: ['spec.clusterIP'] },
  { name: 'update omitting an allocated IP', operation: 'UPDATE', object: unpinned, oldObject: svc, expect: [] },
  {
    name: 'update from ExternalName allocates a new IP',
    operation: 'UPDATE',
    object: unpinned,
    oldObject: tweak(unpinned, { spec: { type: 'ExternalName', externalName: 'x.example.com' } }),
    expect: ['spec.clusterIP'],
  },
];
