/**
 * gnp-schema — a GlobalNetworkPolicy must be one Calico accepts.
 *
 * Writes to crd.projectcalico.org/v1 skip Calico's validation, and Felix silently drops a
 * policy it cannot parse; this rule gives the author the error instead. The JSON Schema
 * (support/gnp-json-schema.ts) reports unknown fields and wrong JSON types; everything else is
 * the policy compiler's (src/calico/policy.ts): Calico's own checks with Calico's reasons, for
 * the release `calico.version` names. At /mutate a policy with errors is not patched: it will
 * be denied at /validate.
 */
import { Ajv } from 'ajv';
import { describeSchemaError, type PathMessage } from '../kube/field-path.ts';
import { compilePolicy, problemsFor, type NamedCheck } from '../calico/policy.ts';
import type { Finding, Rule } from './types.ts';
import { GLOBAL_NETWORK_POLICY } from './support/kinds.ts';
import { GNP_SCHEMA } from './support/gnp-json-schema.ts';

const validateStructure = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(GNP_SCHEMA);

/** Checks a rule of their own reports, with a fix; gnp-schema reports them only while that rule is off. */
export const DEDICATED: Readonly<Record<NamedCheck, string>> = {
  'preDNAT-with-doNotTrack': 'gnp-prednat-do-not-track',
  'preDNAT-with-egress': 'gnp-prednat-ingress-only',
  'applyOnForward-required': 'gnp-prednat-apply-on-forward',
};

/** Whether `path` is `under` or inside it (a compiler problem there repeats a structure error). */
const within = (path: string, under: string): boolean =>
  path === under || (path.startsWith(under) && (path[under.length] === '.' || path[under.length] === '['));

export const gnpSchema: Rule = {
  id: 'gnp-schema',
  kinds: GLOBAL_NETWORK_POLICY,
  stages: ['validate'],
  defaultAction: 'enforce',
  gatesPatches: true,
  doc: 'A GlobalNetworkPolicy must be valid for Calico (fields, types, actions, protocols, ports, nets, selectors, services, ICMP, HTTP, metadata), as the Calico release in `calico.version` validates it. crd.projectcalico.org/v1 writes skip Calico validation and Felix silently drops policies it cannot parse.',
  check({ object, config }) {
    const errors = validateStructure(object) ? [] : (validateStructure.errors ?? []);
    const problems: PathMessage[] = errors.map(describeSchemaError);
    // A field of the wrong JSON type: what the compiler says at or inside it repeats that.
    const structural = errors.filter((e) => e.keyword === 'type').map((e) => describeSchemaError(e).path);
    for (const p of problemsFor(compilePolicy(object), config.calico.version)) {
      if (p.check !== undefined && config.rules[DEDICATED[p.check]] !== 'off') continue;
      if (!structural.some((s) => within(p.path, s))) problems.push(p);
    }
    const name = typeof object.metadata?.name === 'string' ? object.metadata.name : '<unnamed>'; // the schema reports a non-string
    return problems.map(({ path, message }, i): Finding => ({
      path,
      message:
        `GlobalNetworkPolicy "${name}" is invalid at ${path}: ${message}` +
        (i === problems.length - 1 ? ' (Calico rejects such a policy, or Felix silently drops it; fix the field and apply again)' : ''),
    }));
  },
};
