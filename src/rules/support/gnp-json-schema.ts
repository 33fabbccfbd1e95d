/**
 * JSON Schema for the GlobalNetworkPolicy object (both projectcalico.org/v3 and
 * crd.projectcalico.org/v1 carry the same spec). Field limits follow Calico's API types
 * (api/pkg/apis/projectcalico/v3/globalnetworkpolicy.go, policy_common.go). Checks that need
 * more than a schema (selector syntax, port ranges, protocol/port combinations, IP versions)
 * live in gnp-schema.ts.
 */
const label = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const selector = { type: 'string', maxLength: 1024 };
const protocol = {
  anyOf: [
    { type: 'string', pattern: '^([Tt][Cc][Pp]|[Uu][Dd][Pp]|[Ii][Cc][Mm][Pp]|[Ii][Cc][Mm][Pp][Vv]6|[Ss][Cc][Tt][Pp]|[Uu][Dd][Pp][Ll][Ii][Tt][Ee])$' },
    { type: 'integer', minimum: 1, maximum: 255 },
  ],
};
const port = {
  anyOf: [
    { type: 'integer', minimum: 1, maximum: 65535 },
    { type: 'string', pattern: '^([0-9]+(:[0-9]+)?|[a-zA-Z0-9_.-]{1,128})$' },
  ],
};
const icmp = {
  type: 'object',
  additionalProperties: false,
  properties: { type: { type: 'integer', minimum: 0, maximum: 254 }, code: { type: 'integer', minimum: 0, maximum: 255 } },
};
const entity = {
  type: 'object',
  additionalProperties: false,
  properties: {
    nets: { type: 'array', maxItems: 256, items: { type: 'string', format: 'cidr' } },
    notNets: { type: 'array', maxItems: 256, items: { type: 'string', format: 'cidr' } },
    selector,
    notSelector: selector,
    namespaceSelector: selector,
    ports: { type: 'array', maxItems: 50, items: port },
    notPorts: { type: 'array', maxItems: 50, items: port },
    serviceAccounts: {
      type: 'object',
      additionalProperties: false,
      properties: { names: { type: 'array', items: { type: 'string' } }, selector },
    },
    services: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: { name: { type: 'string', minLength: 1 }, namespace: { type: 'string' } },
    },
  },
};
const rule = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: {
    action: { enum: ['Allow', 'Deny', 'Log', 'Pass'] },
    protocol,
    notProtocol: protocol,
    ipVersion: { enum: [4, 6] },
    icmp,
    notICMP: icmp,
    source: entity,
    destination: entity,
    http: {
      type: 'object',
      additionalProperties: false,
      properties: {
        methods: { type: 'array', items: { type: 'string' } },
        paths: { type: 'array', items: { type: 'object', additionalProperties: false, properties: { exact: { type: 'string' }, prefix: { type: 'string' } } } },
      },
    },
    metadata: { type: 'object', additionalProperties: false, properties: { annotations: { type: 'object', additionalProperties: { type: 'string' } } } },
  },
};

export const GNP_SCHEMA = {
  type: 'object',
  required: ['spec'],
  properties: {
    metadata: {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 253, pattern: `^(${label}\\.)*${label}$` } },
    },
    spec: {
      type: 'object',
      additionalProperties: false,
      properties: {
        tier: { type: 'string', pattern: `^${label}$` },
        order: { type: 'number' },
        selector,
        namespaceSelector: selector,
        serviceAccountSelector: selector,
        types: { type: 'array', minItems: 1, maxItems: 2, uniqueItems: true, items: { enum: ['Ingress', 'Egress'] } },
        ingress: { type: 'array', maxItems: 1024, items: rule },
        egress: { type: 'array', maxItems: 1024, items: rule },
        doNotTrack: { type: 'boolean' },
        preDNAT: { type: 'boolean' },
        applyOnForward: { type: 'boolean' },
        performanceHints: { type: 'array', items: { enum: ['AssumeNeededOnEveryNode'] } },
      },
    },
  },
} as const;
