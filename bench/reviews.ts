/**
 * AdmissionReviews shaped like what the API server sends for the two common writes:
 * `kubectl apply` of an exposed Service (CREATE, client-side apply annotation included) and a
 * GitOps sync of a pre-DNAT GlobalNetworkPolicy with 20 ingress rules (UPDATE, so the stored
 * old object rides along).
 */

const USER = {
  username: 'system:serviceaccount:argocd:argocd-application-controller',
  uid: '4c2b1f0e-8a5d-4e0b-9a51-3f2e7c9d1a10',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd', 'system:authenticated'],
};

export function exposedServiceCreate(): object {
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'payments-api',
      namespace: 'payments',
      labels: {
        app: 'payments-api',
        'app.kubernetes.io/name': 'payments-api',
        'app.kubernetes.io/part-of': 'checkout',
        'app.kubernetes.io/managed-by': 'argocd',
        'clusterip-guard.io/exposed': 'true',
        team: 'payments',
        tier: 'backend',
      },
      annotations: {
        'argocd.argoproj.io/tracking-id': 'payments:/Service:payments/payments-api',
      } as Record<string, string>,
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.120.15',
      clusterIPs: ['10.96.120.15'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
      sessionAffinity: 'None',
      selector: { app: 'payments-api', tier: 'backend' },
      ports: [
        { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
        { name: 'grpc', port: 9000, targetPort: 9000, protocol: 'TCP' },
        { name: 'metrics', port: 9090, targetPort: 9090, protocol: 'TCP' },
      ],
    },
  };
  service.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'] = JSON.stringify(service);
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'b7d4d1a2-2f8e-4c1b-9a7e-0c5f3e2d1b01',
      kind: { group: '', version: 'v1', kind: 'Service' },
      resource: { group: '', version: 'v1', resource: 'services' },
      requestKind: { group: '', version: 'v1', kind: 'Service' },
      requestResource: { group: '', version: 'v1', resource: 'services' },
      name: 'payments-api',
      namespace: 'payments',
      operation: 'CREATE',
      userInfo: USER,
      object: service,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', fieldManager: 'argocd-controller' },
    },
  };
}

function ingressRule(i: number): object {
  const tcp = i % 4 !== 3;
  return {
    action: i === 19 ? 'Deny' : 'Allow',
    protocol: tcp ? 'TCP' : 'UDP',
    source: {
      nets: [`10.${20 + i}.0.0/16`, `192.168.${i}.0/24`],
      selector: i % 2 === 0 ? `role == 'frontend' && env in {'prod', 'staging'}` : `has(monitoring) && !has(quarantine)`,
      ...(i % 5 === 0 ? { notNets: [`10.${20 + i}.13.0/24`] } : {}),
    },
    destination: {
      nets: [`10.96.${100 + i}.15/32`],
      ports: tcp ? [443, 8443, `${30000 + i * 10}:${30009 + i * 10}`] : [53, 5353],
    },
  };
}

function policy(rules: number, resourceVersion: string): object {
  return {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'GlobalNetworkPolicy',
    metadata: {
      name: 'allow-cluster-ips',
      uid: '8f3e0c1d-5a2b-4d6e-9f7a-1b2c3d4e5f60',
      resourceVersion,
      generation: 7,
      labels: { 'app.kubernetes.io/managed-by': 'argocd', 'policy-tier': 'platform' },
      annotations: { 'argocd.argoproj.io/tracking-id': 'platform:crd.projectcalico.org/GlobalNetworkPolicy:/allow-cluster-ips' },
    },
    spec: {
      order: 200,
      selector: "k8s-role == 'node'",
      preDNAT: true,
      applyOnForward: true,
      types: ['Ingress'],
      ingress: Array.from({ length: rules }, (_, i) => ingressRule(i)),
    },
  };
}

export function globalNetworkPolicyUpdate(): object {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'e1c2a3b4-5d6e-4f70-8a9b-0c1d2e3f4a5b',
      kind: { group: 'crd.projectcalico.org', version: 'v1', kind: 'GlobalNetworkPolicy' },
      resource: { group: 'crd.projectcalico.org', version: 'v1', resource: 'globalnetworkpolicies' },
      name: 'allow-cluster-ips',
      operation: 'UPDATE',
      userInfo: USER,
      object: policy(20, '48211'),
      oldObject: policy(19, '48211'),
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'UpdateOptions', fieldManager: 'argocd-controller' },
    },
  };
}

/**
 * A valid policy UPDATE review as large as Calico's limits allow in the bench's shapes:
 * `rules` ingress rules (Calico allows 1,024), each with `nets` destination nets.
 * `bad` makes every rule invalid (an unknown action), for the many-findings case.
 */
export function largePolicyReview(rules: number, nets: number, bad = false): { request: any } & object {
  const net = (k: number) => `10.${96 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}/32`;
  const ingress = Array.from({ length: rules }, (_, i) => ({
    action: bad ? 'Accept' : i % 7 === 6 ? 'Deny' : 'Allow',
    protocol: 'TCP',
    source: { nets: [`172.16.${i & 255}.0/24`] },
    destination: { nets: Array.from({ length: nets }, (_, j) => net(i * nets + j)), ports: [443, `${30000 + (i % 2000)}:${30001 + (i % 2000)}`] },
  }));
  const review = globalNetworkPolicyUpdate() as { request: any };
  review.request.uid = `large-${rules}x${nets}${bad ? '-bad' : ''}`;
  review.request.object.spec.ingress = ingress;
  return review;
}
