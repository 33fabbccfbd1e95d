import { preDNATPolicy as p, tweak } from '../../helpers.ts';
import type { RuleCase } from '../case.ts';

export const cases: RuleCase[] = [
  { name: 'preDNAT with applyOnForward', object: p, expect: [] },
  { name: 'normal policy', object: tweak(p, { spec: { preDNAT: undefined, applyOnForward: undefined } }), expect: [] },
  { name: 'preDNAT, applyOnForward missing', object: tweak(p, { spec: { applyOnForward: undefined } }), expect: ['spec.applyOnForward'], patched: { spec: { applyOnForward: true } } },
  { name: 'preDNAT, applyOnForward false', object: tweak(p, { spec: { applyOnForward: false } }), expect: ['spec.applyOnForward'], patched: { spec: { applyOnForward: true } } },
  { name: 'doNotTrack, applyOnForward missing', object: tweak(p, { spec: { preDNAT: undefined, doNotTrack: true, applyOnForward: undefined } }), expect: ['spec.applyOnForward'], messageIncludes: ['doNotTrack'] },
  { name: 'at validate: reported without patch', stage: 'validate', object: tweak(p, { spec: { applyOnForward: undefined } }), expect: ['spec.applyOnForward'], unpatchable: true },
];
