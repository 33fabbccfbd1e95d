/**
 * The rig's addresses. Documentation ranges for clients and the node, the test's own pod and
 * service ranges behind the node; nothing here is routed out of the namespaces the rig makes.
 */
export const NODE_IP = '198.51.100.1';
/** Client source addresses: three in the node's subnet, one in another documentation range. */
export const CLIENTS = ['198.51.100.10', '198.51.100.11', '198.51.100.200', '203.0.113.10'] as const;
export const POD_GATEWAY = '192.168.1.1';
export const POD_IP = '192.168.1.10';
export const POD_CIDR = '192.168.0.0/16';
export const SERVICE_CIDR = '10.20.30.0/24';
/** kube-proxy stand-in: both cluster IPs are DNATed to the one pod (ports unchanged). */
export const CLUSTER_IPS = ['10.20.30.40', '10.20.30.41'] as const;
/** Ports with TCP and UDP listeners on the node and in the pod (22 and 68 are Felix failsafe ports). */
export const LISTEN_PORTS = [22, 68, 80, 443, 8080, 30080] as const;
export const NODE_NAME = 'node1';
export const HEP_NAME = 'node1-eth0';
export const HEP_LABELS = { 'k8s-role': 'node' } as const;

export type Target = 'cluster-ip' | 'pod-ip' | 'node-ip';

export interface ProbeSpec {
  readonly proto: 'tcp' | 'udp';
  readonly src: string;
  readonly target: Target;
  /** The address probed (a cluster IP, the pod IP or the node IP). */
  readonly dst: string;
  readonly port: number;
}

export const describeProbe = (p: ProbeSpec): string => `${p.proto} ${p.src} -> ${p.dst}:${p.port} (${p.target})`;
