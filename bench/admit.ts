/**
 * The decision the bench drives: the one place to change what is measured.
 *
 * Default: `createAdmit` from src/admission/decide.ts with the default rules and config over a synthetic cluster of
 * `BENCH_NODES` nodes (default 20: one HostEndpoint each) and `BENCH_POLICIES` other
 * GlobalNetworkPolicies (default 30). `BENCH_ADMIT=fake` allows everything, so the server's
 * own cost (parse, envelope check, audit line, serialize) is what gets measured.
 */
import type { KubeObject } from '../src/admission/types.ts';
import type { Admit } from '../src/server/app.ts';
import { fakeAdmit } from '../test/server/helpers.ts';

export interface BenchAdmit {
  admit: Admit;
  /** Printed with the results so numbers are never read without knowing what was measured. */
  label: string;
}

export async function makeAdmit(): Promise<BenchAdmit> {
  if (process.env.BENCH_ADMIT !== 'fake') return realAdmit();
  return { admit: fakeAdmit(), label: 'fake (allow everything; no rules evaluated)' };
}

async function realAdmit(): Promise<BenchAdmit> {
  const [{ createAdmit }, { defaultRegistry }, { defaultConfig }, { snapshotFromObjects }] = await Promise.all([
    import('../src/admission/decide.ts'),
    import('../src/rules/index.ts'),
    import('../src/config/load.ts'),
    import('../src/cluster/manifests.ts'),
  ]);
  const nodes = Number(process.env.BENCH_NODES ?? 20);
  const policies = Number(process.env.BENCH_POLICIES ?? 30);
  const config = defaultConfig();
  const snapshot = snapshotFromObjects(syntheticCluster(nodes, policies), config);
  const admit = createAdmit({ registry: defaultRegistry(), config, cluster: { snapshot: () => snapshot } });
  return { admit, label: `real decide.ts, default config, ${nodes} host endpoints, ${policies} other policies` };
}

/** The /24 prefix of team `t`'s cluster IPs (0–4095), inside the advertised 10.96.0.0/12 (valid past 256 teams). */
export const teamNet = (t: number): string => `10.${96 + (t >> 8)}.${t & 255}`;

/** IPPool, BGPConfiguration, one HostEndpoint per node and a mix of host-endpoint policies. */
export function syntheticCluster(nodes: number, policies: number): KubeObject[] {
  const calico = (kind: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): KubeObject => ({
    apiVersion: 'projectcalico.org/v3',
    kind,
    metadata: { name, ...(labels ? { labels } : {}) },
    spec,
  });
  const objects: KubeObject[] = [
    calico('IPPool', 'default-ipv4-ippool', { cidr: '192.168.0.0/16', ipipMode: 'Never', natOutgoing: true }),
    calico('BGPConfiguration', 'default', { serviceClusterIPs: [{ cidr: '10.96.0.0/12' }] }),
  ];
  for (let i = 0; i < nodes; i++) {
    objects.push(
      calico(
        'HostEndpoint',
        `node-${i}-eth0`,
        { node: `node-${i}`, interfaceName: 'eth0', expectedIPs: [`10.0.${i >> 8}.${i & 255}`] },
        { 'k8s-role': 'node', zone: `zone-${i % 3}`, 'kubernetes.io/hostname': `node-${i}` },
      ),
    );
  }
  objects.push(
    calico('GlobalNetworkPolicy', 'allow-pod-cidr', {
      order: 10,
      selector: "k8s-role == 'node'",
      preDNAT: true,
      applyOnForward: true,
      types: ['Ingress'],
      ingress: [{ action: 'Allow', destination: { nets: ['192.168.0.0/16'] } }],
    }),
    calico('GlobalNetworkPolicy', 'allow-host-traffic', {
      order: 20,
      selector: "k8s-role == 'node'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['1:29999', '32768:65535'] } }],
    }),
  );
  for (let i = 0; i < policies; i++) {
    objects.push(
      calico('GlobalNetworkPolicy', `team-${i}`, {
        order: 100 + i,
        selector: `k8s-role == 'node' && zone == 'zone-${i % 3}'`,
        preDNAT: true,
        applyOnForward: true,
        types: ['Ingress'],
        ingress: [
          { action: 'Allow', protocol: 'TCP', source: { nets: [`10.${100 + (i % 50)}.0.0/16`] }, destination: { nets: [`${teamNet(i)}.0/24`], ports: [443] } },
          { action: 'Deny', protocol: 'TCP', destination: { nets: [`${teamNet(i)}.0/24`] } },
        ],
      }),
    );
  }
  return objects;
}
