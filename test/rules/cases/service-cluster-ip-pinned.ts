import { exposedService as svc, tweak, withLabels } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';

const unpinned = tweak(svc, { spec: { clusterIP: undefined } });

/** A stored Service as the API server returns it, with the given managedFields entries. */
const stored = (...managedFields: unknown[]) => tweak(svc, { metadata: { managedFields } });
const entry = (manager: string, operation: string, spec: Record<string, unknown>) => ({ manager, operation, apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': spec } });
const ports = { 'f:ports': { '.': {} }, 'f:type': {} };

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
  // Existing objects (audit): managedFields tell a pinned IP from an allocated one.
  { name: 'existing, client-side apply set clusterIP', mode: 'existing', object: stored(entry('kubectl-client-side-apply', 'Update', { ...ports, 'f:clusterIP': {} })), expect: [] },
  { name: 'existing, server-side apply set clusterIP', mode: 'existing', object: stored(entry('kubectl', 'Apply', { ...ports, 'f:clusterIP': {} })), expect: [] },
  { name: 'existing, dual-stack clusterIPs set', mode: 'existing', object: stored(entry('kubectl', 'Apply', { ...ports, 'f:clusterIPs': {} })), expect: [] },
  {
    name: 'existing, nobody owns clusterIP (allocated)',
    mode: 'existing',
    object: stored(entry('kubectl-client-side-apply', 'Update', ports)),
    expect: ['spec.clusterIP'],
    messageIncludes: ['allocated by the API server', '10.96.0.40', 'no field manager owns spec.clusterIP'],
  },
  { name: 'existing, allocated but Local mode', mode: 'existing', object: tweak(stored(entry('kubectl', 'Apply', ports)), { spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' } }), expect: [] },
  { name: 'existing, allocated but not exposed', mode: 'existing', object: withLabels(stored(entry('kubectl', 'Apply', ports)), { app: 'a' }), expect: [] },
  { name: 'existing manifest without managedFields declares its IP', mode: 'existing', object: svc, expect: [] },
];
