/**
 * A review's objects must not outlive it. When something long-lived holds on to them (a
 * WeakMap keyed by the review's objects, an object literal whose getter closes over them), the
 * young-generation collector promotes every review's objects to the old generation, and
 * garbage collection becomes the largest cost of a policy review. Measured here directly: the
 * old generation's growth across many reviews, after a young-generation collection.
 */
import t from 'tap';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createAdmit } from '../../src/admission/decide.ts';
import type { AdmissionRequest, KubeObject } from '../../src/admission/types.ts';
import { defaultRegistry } from '../../src/rules/index.ts';
import { config, snapshot } from '../helpers.ts';
import { guideCluster, policy } from '../rules/guide.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as (options: { type: 'minor' | 'major'; execution: 'sync' }) => void;

const oldSpaceUsed = (): number => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;

/** A policy that leaves host traffic dropped (a finding, so an explanation is written) and partly allows pod traffic. */
const submitted: KubeObject = policy('team-rules', {
  order: 50,
  preDNAT: true,
  applyOnForward: true,
  types: ['Ingress'],
  ingress: Array.from({ length: 10 }, (_, i) => ({
    action: i === 9 ? 'Deny' : 'Allow',
    protocol: 'TCP',
    source: { nets: [`10.${20 + i}.0.0/16`], selector: `role == 'frontend'` },
    destination: { nets: [`10.96.${i}.15/32`], ports: [443, `${30000 + i}:${30010 + i}`] },
  })),
});

const request = (): AdmissionRequest =>
  JSON.parse(
    JSON.stringify({
      uid: 'uid-1',
      kind: { group: 'projectcalico.org', version: 'v3', kind: 'GlobalNetworkPolicy' },
      operation: 'CREATE',
      name: 'team-rules',
      userInfo: { username: 'alice', groups: ['devs'] },
      object: submitted,
    }),
  ) as AdmissionRequest;

t.test('policy reviews leave nothing behind in the old generation', async (t) => {
  const cluster = snapshot(guideCluster({ without: ['allow-traffic-hostendpoints'] }));
  const admit = createAdmit({ registry: defaultRegistry(), config: config(), cluster: { snapshot: () => cluster } });
  const first = admit('validate', request());
  t.ok(first.response.warnings?.some((w) => w.startsWith('[gnp-host-traffic-allowed]')), 'the review has a finding to explain');
  for (let i = 0; i < 200; i++) admit('validate', request()); // warm up: caches filled, code optimized

  gc({ type: 'major', execution: 'sync' });
  const before = oldSpaceUsed();
  const reviews = 2000;
  for (let i = 0; i < reviews; i++) admit('validate', request());
  gc({ type: 'minor', execution: 'sync' });
  const grownPerReview = (oldSpaceUsed() - before) / reviews;
  // Each review allocates tens of KiB; kept reviews would add about that much per review.
  t.ok(grownPerReview < 1024, `old generation grew ${grownPerReview.toFixed(0)} bytes per review (under 1 KiB)`);
});
