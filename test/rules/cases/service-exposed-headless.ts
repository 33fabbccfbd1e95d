import { exposedService as svc, tweak, withLabels } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';

export const cases: RuleCase[] = [
  { name: 'exposed with IP', object: svc, expect: [] },
  { name: 'headless, not exposed', object: withLabels(tweak(svc, { spec: { clusterIP: 'None' } }), {}), expect: [] },
  { name: 'exposed headless', object: tweak(svc, { spec: { clusterIP: 'None' } }), expect: ['spec.clusterIP'], messageIncludes: ['headless', 'clusterip-guard.io/exposed'] },
  { name: 'exposed headless via clusterIPs', object: tweak(svc, { spec: { clusterIP: undefined, clusterIPs: ['None'] } }), expect: ['spec.clusterIP'] },
];
