import { preDNATPolicy as p, tweak } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';

const egress = [{ action: 'Allow', destination: { nets: ['10.0.0.0/8'] } }];

export const cases: RuleCase[] = [
  { name: 'preDNAT with types [Ingress]', object: p, expect: [] },
  { name: 'normal policy with egress', object: tweak(p, { spec: { preDNAT: undefined, egress, types: ['Ingress', 'Egress'] } }), expect: [] },
  { name: 'preDNAT without types', object: tweak(p, { spec: { types: undefined } }), expect: ['spec.types'], patched: { spec: { types: ['Ingress'] } } },
  { name: 'preDNAT without types at validate', stage: 'validate', object: tweak(p, { spec: { types: undefined } }), expect: [] },
  { name: 'preDNAT with egress rules', object: tweak(p, { spec: { types: undefined, egress } }), expect: ['spec.egress'], unpatchable: true },
  { name: 'preDNAT with Egress type', object: tweak(p, { spec: { types: ['Ingress', 'Egress'] } }), expect: ['spec.types[1]'], unpatchable: true },
  { name: 'at validate too', stage: 'validate', object: tweak(p, { spec: { egress } }), expect: ['spec.egress'] },
];
