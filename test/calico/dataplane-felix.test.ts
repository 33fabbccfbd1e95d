// What real Felix (v3.31.0, iptables and nftables dataplanes) did with real packets in the
// differential rig (test/dataplane), turned into fixed cases for the model. Each case names the
// rig run it comes from; the policies are the smallest that show it.
import t from 'tap';
import type { KubeObject } from '../../src/admission/types.ts';
import { regionVerdict } from '../../src/calico/reachability.ts';
import { compileAll, expectRoundTrip, modelDelivers, predict } from '../dataplane/model.ts';
import { HOST_ENDPOINT } from '../dataplane/rig.ts';
import type { ProbeSpec } from '../dataplane/topology.ts';

const gnp = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'crd.projectcalico.org/v1',
  kind: 'GlobalNetworkPolicy',
  metadata: { name: `default.${name}` },
  spec: { tier: 'default', selector: "k8s-role == 'node'", types: ['Ingress'], ...spec },
});
const untrackedAllow = gnp('untracked-allow', { doNotTrack: true, applyOnForward: true, ingress: [{ action: 'Allow', source: { nets: ['198.51.100.200/32'] } }] });
const preDnatAllow = gnp('prednat-allow', { preDNAT: true, applyOnForward: true, ingress: [{ action: 'Allow', source: { nets: ['198.51.100.200/32'] } }] });
const normalHost = gnp('normal', { ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [8080] } }] });

const probe = (proto: 'tcp' | 'udp', target: ProbeSpec['target'], port: number): ProbeSpec => ({
  proto,
  src: '198.51.100.200',
  target,
  dst: target === 'cluster-ip' ? '10.20.30.40' : target === 'pod-ip' ? '192.168.1.10' : '198.51.100.1',
  port,
});

interface FelixCase {
  name: string;
  policies: KubeObject[];
  probe: ProbeSpec;
  /** What Felix did with the packets arriving on the host endpoint. */
  delivered: boolean;
  source: string;
}

const cases: FelixCase[] = [
  {
    name: 'untracked Allow to a cluster IP: never DNATed, the service is not reached',
    policies: [untrackedAllow],
    probe: probe('tcp', 'cluster-ip', 68),
    delivered: false,
    source: 'rig seed 2 cluster 18 (iptables and nftables): tcp 198.51.100.200 -> 10.20.30.40:68 dropped; 35 of 35 cluster-IP probes decided by an untracked Allow in that run',
  },
  {
    name: 'untracked Allow to a cluster IP, UDP',
    policies: [untrackedAllow],
    probe: probe('udp', 'cluster-ip', 80),
    delivered: false,
    source: 'rig seed 2 cluster 28 (both modes): udp 198.51.100.10 -> 10.20.30.41:80 dropped',
  },
  {
    name: 'untracked Allow to the pod IP itself: forwarded (no DNAT needed)',
    policies: [untrackedAllow],
    probe: probe('udp', 'pod-ip', 80),
    delivered: true,
    source: 'rig seed 2 (both modes): 5 of 5 UDP probes to the pod IP decided by an untracked Allow were echoed',
  },
  {
    name: 'untracked Allow to the host',
    policies: [untrackedAllow],
    probe: probe('tcp', 'node-ip', 8080),
    delivered: true,
    source: 'rig seed 2 (both modes): 10 of 10 host probes decided by an untracked Allow got through (with an untracked egress Allow for the replies)',
  },
  {
    name: 'pre-DNAT Allow to a cluster IP: DNATed and forwarded',
    policies: [preDnatAllow],
    probe: probe('tcp', 'cluster-ip', 80),
    delivered: true,
    source: 'rig guide scenario (both modes): tcp 198.51.100.10 -> 10.20.30.40:80 delivered',
  },
  {
    name: 'a normal policy turns on the host default deny, not forwarded traffic',
    policies: [normalHost],
    probe: probe('tcp', 'cluster-ip', 8080),
    delivered: true,
    source: 'facts.md §4: a Deny without applyOnForward leaves forwarded traffic alone; rig seed 2 agrees',
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const verdict = predict(compileAll(c.policies), HOST_ENDPOINT, c.probe);
    t.equal(modelDelivers(verdict, c.probe), c.delivered, c.source);
  });
}

t.test('the untracked cluster-IP drop is decided by the untracked rule', async (t) => {
  const verdict = predict(compileAll([untrackedAllow]), HOST_ENDPOINT, probe('tcp', 'cluster-ip', 80));
  t.match(verdict.by, { stage: 'untracked', action: 'Allow', policy: 'default.untracked-allow' });
  t.match(regionVerdict(verdict), { verdict: 'dropped', decidedBy: { stage: 'untracked', policy: 'default.untracked-allow', rule: 0 } });
});

t.test('untracked Allow of forwarded TCP: the packets get through, the handshake does not (documented Felix behaviour)', async (t) => {
  // rig seed 2 (both modes): 5 of 5 TCP probes to the pod IP decided by an untracked Allow failed,
  // while UDP to the same pod was echoed. felix/rules/endpoints.go appendConntrackRules drops
  // conntrack state INVALID: the pod's SYN-ACK for a SYN conntrack never saw.
  const p = probe('tcp', 'pod-ip', 443);
  const verdict = predict(compileAll([untrackedAllow]), HOST_ENDPOINT, p);
  t.equal(verdict.allowed, true, 'the model: its packets reach the pod');
  t.equal(expectRoundTrip(verdict, p), false, 'the rig: no TCP connection');
  t.equal(expectRoundTrip(verdict, probe('udp', 'pod-ip', 443)), true, 'UDP replies are NEW, not INVALID');
});
