/**
 * The structure of a GlobalNetworkPolicy object (projectcalico.org/v3 and
 * crd.projectcalico.org/v1 carry the same spec): field names and JSON types only, after
 * Calico's API types (api/pkg/apis/projectcalico/v3/globalnetworkpolicy.go, policy_common.go)
 * and the list and length limits on their CRD. What values mean, and which combinations Calico
 * accepts, is the policy compiler's (src/calico/policy.ts) to say.
 */
/** An object that may hold the listed fields and no others. */
const closed = (properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, properties }) as const;
const selector = { type: 'string', maxLength: 1024 };
const nameOrNumber = { type: ['string', 'integer'] }; // a protocol or a port
const icmp = closed({ type: { type: 'integer' }, code: { type: 'integer' } });
const strings = { type: 'array', items: { type: 'string' } };
const entity = closed({
  nets: { ...strings, maxItems: 256 },
  notNets: { ...strings, maxItems: 256 },
  selector,
  notSelector: selector,
  namespaceSelector: selector,
  ports: { type: 'array', maxItems: 50, items: nameOrNumber },
  notPorts: { type: 'array', maxItems: 50, items: nameOrNumber },
  serviceAccounts: closed({ names: strings, selector }),
  services: closed({ name: { type: 'string' }, namespace: { type: 'string' } }),
});
const rule = closed({
  action: { type: 'string' },
  protocol: nameOrNumber,
  notProtocol: nameOrNumber,
  ipVersion: { type: 'integer' },
  icmp,
  notICMP: icmp,
  source: entity,
  destination: entity,
  http: closed({
    methods: strings,
    paths: { type: 'array', items: closed({ exact: { type: 'string' }, prefix: { type: 'string' } }) },
  }),
  metadata: closed({ annotations: { type: 'object', additionalProperties: { type: 'string' } } }),
});

export const GNP_SCHEMA = {
  type: 'object',
  properties: {
    metadata: { type: 'object', properties: { name: { type: 'string' } } },
    spec: closed({
      tier: { type: 'string' },
      order: { type: 'number' },
      selector,
      namespaceSelector: selector,
      serviceAccountSelector: selector,
      types: { type: 'array', maxItems: 2 },
      ingress: { type: 'array', maxItems: 1024, items: rule },
      egress: { type: 'array', maxItems: 1024, items: rule },
      doNotTrack: { type: 'boolean' },
      preDNAT: { type: 'boolean' },
      applyOnForward: { type: 'boolean' },
      performanceHints: { type: 'array', items: { type: 'string' } },
    }),
  },
} as const;
