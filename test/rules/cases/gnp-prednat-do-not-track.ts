import { preDNATPolicy as p, tweak } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';

export const cases: RuleCase[] = [
  { name: 'preDNAT only', object: p, expect: [] },
  { name: 'doNotTrack only', object: tweak(p, { spec: { preDNAT: undefined, doNotTrack: true } }), expect: [] },
  { name: 'both', object: tweak(p, { spec: { doNotTrack: true } }), expect: ['spec.doNotTrack'], messageIncludes: ['allow-cluster-ips', 'remove doNotTrack'] },
];
