import { hostEndpoint, tweak } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';

export const cases: RuleCase[] = [
  { name: 'with expectedIPs', object: hostEndpoint, expect: [] },
  { name: 'without expectedIPs', object: tweak(hostEndpoint, { spec: { expectedIPs: undefined } }), expect: ['spec.expectedIPs'], messageIncludes: ['node1-eth0'] },
  { name: 'empty expectedIPs', object: tweak(hostEndpoint, { spec: { expectedIPs: [] } }), expect: ['spec.expectedIPs'] },
];
