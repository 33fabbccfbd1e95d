// Rendered-manifest tests: `helm template` for every ci scenario, parsed, and checked field by
// field against what the webhook, the API server and the safety defaults need.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import {
  CI_DIR,
  RELEASE_NAME,
  RELEASE_NAMESPACE,
  REPO_ROOT,
  SCENARIOS,
  findOne,
  parseManifests,
  renderChart,
  renderNotes,
  renderObjects,
  type K8sObject,
  type Scenario,
} from './render.ts';
import { addCidrFormat } from './schema-support.ts';

type Any = any;

const FULLNAME = RELEASE_NAME; // the release name contains the chart name, so it is used alone
const CALICO_GROUPS = ['crd.projectcalico.org', 'projectcalico.org'] as const;
const CALICO_VERSION: Record<(typeof CALICO_GROUPS)[number], string> = { 'crd.projectcalico.org': 'v1', 'projectcalico.org': 'v3' };

const scenarioValues = (s: Scenario): Any => parseYaml(readFileSync(join(CI_DIR, s), 'utf8')) ?? {};

/** What each scenario must render, beyond what all of them share. */
interface Expectation {
  inCluster: boolean;
  tlsMode: 'certManager' | 'secret' | 'url';
  replicas?: number;
  mutating: { failurePolicy: string; timeoutSeconds: number };
  validating: { failurePolicy: string; timeoutSeconds: number };
  excluded: string[];
  antiAffinity?: 'soft' | 'hard';
}

const EXPECT: Record<Scenario, Expectation> = {
  'default-values.yaml': {
    inCluster: true,
    tlsMode: 'certManager',
    replicas: 2,
    mutating: { failurePolicy: 'Fail', timeoutSeconds: 5 },
    validating: { failurePolicy: 'Ignore', timeoutSeconds: 5 },
    excluded: [RELEASE_NAMESPACE, 'kube-system'],
    antiAffinity: 'soft',
  },
  'certmanager-off-values.yaml': {
    inCluster: true,
    tlsMode: 'secret',
    replicas: 2,
    mutating: { failurePolicy: 'Fail', timeoutSeconds: 5 },
    validating: { failurePolicy: 'Ignore', timeoutSeconds: 5 },
    excluded: [RELEASE_NAMESPACE, 'kube-system'],
    antiAffinity: 'soft',
  },
  'url-mode-values.yaml': {
    inCluster: false,
    tlsMode: 'url',
    mutating: { failurePolicy: 'Fail', timeoutSeconds: 5 },
    validating: { failurePolicy: 'Ignore', timeoutSeconds: 5 },
    excluded: [RELEASE_NAMESPACE, 'kube-system'],
  },
  'custom-rules-values.yaml': {
    inCluster: true,
    tlsMode: 'certManager',
    replicas: 3,
    mutating: { failurePolicy: 'Fail', timeoutSeconds: 5 },
    validating: { failurePolicy: 'Fail', timeoutSeconds: 3 },
    excluded: [RELEASE_NAMESPACE, 'kube-system', 'calico-system', 'tigera-operator', 'sandbox'],
    antiAffinity: 'hard',
  },
};

const cache = new Map<string, Promise<K8sObject[]>>();
const objectsFor = (s: Scenario): Promise<K8sObject[]> => {
  let p = cache.get(s);
  if (!p) {
    p = renderObjects(s);
    cache.set(s, p);
  }
  return p;
};

const webhookOf = (objects: K8sObject[], kind: string): Any => {
  const config: Any = findOne(objects, kind);
  if (config.webhooks.length !== 1) throw new Error(`${kind}: expected one webhook, found ${config.webhooks.length}`);
  return config.webhooks[0];
};

const configValidator = (() => {
  const ajv = addCidrFormat(new Ajv({ strict: true, allErrors: true }));
  return { ajv, validate: ajv.compile(JSON.parse(readFileSync(join(REPO_ROOT, 'src', 'config', 'schema.json'), 'utf8'))) };
})();

for (const scenario of SCENARIOS) {
  const expect = EXPECT[scenario];
  const values = scenarioValues(scenario);

  t.test(scenario, async (t) => {
    const objects = await objectsFor(scenario);

    t.test('every object is named within 63 characters and namespaced objects sit in the release namespace', async (t) => {
      const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
      for (const o of objects) {
        t.ok(o.metadata.name.length <= 63, `${o.kind} ${o.metadata.name}`);
        if (clusterScoped.has(o.kind)) t.equal(o.metadata.namespace, undefined, `${o.kind} is cluster-scoped`);
        else t.equal(o.metadata.namespace, RELEASE_NAMESPACE, `${o.kind} ${o.metadata.name} namespace`);
        t.equal(o.metadata.labels?.['app.kubernetes.io/instance'], RELEASE_NAME, `${o.kind} carries the instance label`);
      }
    });

    t.test('webhook configurations', async (t) => {
      const mutating = webhookOf(objects, 'MutatingWebhookConfiguration');
      const validating = webhookOf(objects, 'ValidatingWebhookConfiguration');

      for (const [hook, settings, path] of [
        [mutating, expect.mutating, '/mutate'],
        [validating, expect.validating, '/validate'],
      ] as const) {
        t.test(path, async (t) => {
          t.equal(hook.sideEffects, 'None', 'sideEffects None (dry runs are sent too)');
          t.strictSame(hook.admissionReviewVersions, ['v1']);
          t.equal(hook.matchPolicy, 'Equivalent');
          t.equal(hook.failurePolicy, settings.failurePolicy);
          t.equal(hook.timeoutSeconds, settings.timeoutSeconds);
          t.ok(hook.timeoutSeconds >= 1 && hook.timeoutSeconds <= 30, 'timeout within the API server range');
          t.match(hook.name, /^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/, 'webhook name is a qualified name with at least three segments');

          const selector = hook.namespaceSelector;
          t.equal(selector.matchLabels, undefined);
          t.equal(selector.matchExpressions.length, 1);
          const [expr] = selector.matchExpressions;
          t.equal(expr.key, 'kubernetes.io/metadata.name');
          t.equal(expr.operator, 'NotIn');
          t.same([...expr.values].sort(), [...expect.excluded].sort(), 'release namespace, kube-system and the extra exclusions');

          if (values.webhooks?.objectSelector) t.strictSame(hook.objectSelector, values.webhooks.objectSelector);
          else t.equal(hook.objectSelector, undefined);

          // Rules: Services (core v1, namespaced) and the Calico kinds in both groups, CREATE/UPDATE;
          // at /validate also DELETE of the Calico kinds whose removal can cut traffic.
          const calicoKinds = path === '/mutate' ? ['globalnetworkpolicies'] : ['bgpconfigurations', 'globalnetworkpolicies', 'hostendpoints', 'ippools'];
          const rules: Any[] = hook.rules;
          for (const rule of rules) {
            t.notOk(rule.resources.some((r: string) => r.includes('/') || r === '*'), 'no subresources or wildcards');
            t.equal(rule.apiGroups.length, 1, 'one group per rule, so groups and versions are never cross-paired');
          }
          const writes = rules.filter((r) => r.operations.includes('CREATE'));
          for (const rule of writes) t.strictSame([...rule.operations].sort(), ['CREATE', 'UPDATE'], 'operations');
          const services = writes.find((r) => r.apiGroups[0] === '');
          t.ok(services, 'a rule for core Services');
          t.strictSame(services?.apiVersions, ['v1']);
          t.strictSame(services?.resources, ['services']);
          t.equal(services?.scope, 'Namespaced');
          for (const group of CALICO_GROUPS) {
            const rule = writes.find((r) => r.apiGroups[0] === group);
            t.ok(rule, `a rule for ${group}`);
            t.strictSame(rule?.apiVersions, [CALICO_VERSION[group]], `${group} version`);
            t.strictSame([...(rule?.resources ?? [])].sort(), calicoKinds, `${group} resources`);
            t.equal(rule?.scope, 'Cluster');
          }
          t.equal(writes.length, 3);
          const deletes = rules.filter((r) => !r.operations.includes('CREATE'));
          if (path === '/mutate') t.equal(deletes.length, 0, 'no DELETE at /mutate');
          else {
            t.equal(deletes.length, 2, 'one DELETE rule per Calico group');
            for (const rule of deletes) {
              t.strictSame(rule.operations, ['DELETE']);
              t.strictSame([...rule.resources].sort(), ['globalnetworkpolicies', 'hostendpoints']);
            }
          }

          // How the API server reaches and trusts the webhook.
          const cc = hook.clientConfig;
          if (expect.tlsMode === 'url') {
            t.equal(cc.url, `https://${values.tls.url.host}:${values.tls.url.port}${path}`);
            t.equal(cc.service, undefined);
          } else {
            t.equal(cc.url, undefined);
            t.strictSame(cc.service, { name: FULLNAME, namespace: RELEASE_NAMESPACE, path, port: 443 });
          }
          if (expect.tlsMode === 'certManager') {
            t.equal(cc.caBundle, undefined, 'cert-manager injects the caBundle');
          } else {
            t.equal(cc.caBundle, values.tls.caBundle);
            const ca = new X509Certificate(Buffer.from(cc.caBundle, 'base64'));
            t.ok(ca.ca, 'caBundle holds a CA certificate');
          }
        });
      }

      t.equal(mutating.reinvocationPolicy, 'IfNeeded');
      t.equal(validating.reinvocationPolicy, undefined, 'reinvocation is a mutating-only field');
      t.not(mutating.name, validating.name);

      for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
        const annotations = findOne(objects, kind).metadata.annotations ?? {};
        if (expect.tlsMode === 'certManager') {
          const [ns, certName] = String(annotations['cert-manager.io/inject-ca-from']).split('/');
          t.equal(ns, RELEASE_NAMESPACE, `${kind} injects from the release namespace`);
          const cert: Any = findOne(objects, 'Certificate', certName);
          t.ok(cert, `${kind} names a rendered Certificate`);
        } else {
          t.equal(annotations['cert-manager.io/inject-ca-from'], undefined, `${kind} has no injection annotation`);
        }
      }
    });

    t.test('cert-manager objects', async (t) => {
      const certManager = objects.filter((o) => o.apiVersion.startsWith('cert-manager.io/'));
      if (expect.tlsMode !== 'certManager') {
        t.same(certManager, [], 'none without cert-manager');
        return;
      }
      const certs: Any[] = certManager.filter((o) => o.kind === 'Certificate');
      const serving = certs.find((c) => !c.spec.isCA);
      t.ok(serving, 'a serving Certificate');
      t.strictSame(serving.spec.dnsNames, [
        `${FULLNAME}.${RELEASE_NAMESPACE}.svc`,
        `${FULLNAME}.${RELEASE_NAMESPACE}.svc.cluster.local`,
      ]);
      t.ok(serving.spec.usages.includes('server auth'));
      t.equal(serving.spec.privateKey.rotationPolicy, 'Always');
      const deployment: Any = findOne(objects, 'Deployment');
      const tlsVolume = deployment.spec.template.spec.volumes.find((v: Any) => v.name === 'tls');
      t.equal(serving.spec.secretName, tlsVolume.secret.secretName, 'the pods mount the Secret cert-manager writes');

      const issuerRef = values.tls?.certManager?.issuerRef;
      if (issuerRef) {
        t.equal(certManager.length, 1, 'only the serving Certificate with an existing issuer');
        t.strictSame(serving.spec.issuerRef, { group: 'cert-manager.io', kind: issuerRef.kind ?? 'Issuer', name: issuerRef.name });
        return;
      }
      // Own chain: self-signed Issuer -> CA Certificate -> CA Issuer -> serving Certificate.
      const issuers: Any[] = certManager.filter((o) => o.kind === 'Issuer');
      t.equal(issuers.length, 2);
      t.equal(certManager.length, 4);
      const selfSigned = issuers.find((i) => i.spec.selfSigned);
      const caIssuer = issuers.find((i) => i.spec.ca);
      const caCert = certs.find((c) => c.spec.isCA);
      t.ok(selfSigned && caIssuer && caCert, 'self-signed Issuer, CA Certificate and CA Issuer');
      t.equal(caCert.spec.issuerRef.name, selfSigned.metadata.name);
      t.equal(caIssuer.spec.ca.secretName, caCert.spec.secretName);
      t.equal(serving.spec.issuerRef.name, caIssuer.metadata.name);
      t.equal(serving.spec.issuerRef.kind, 'Issuer');
    });

    if (!expect.inCluster) {
      t.test('url mode renders only the webhook configurations', async (t) => {
        t.strictSame(objects.map((o) => o.kind).sort(), ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
      });
      return;
    }

    t.test('Deployment', async (t) => {
      const deployment: Any = findOne(objects, 'Deployment', FULLNAME);
      t.equal(deployment.spec.replicas, expect.replicas);
      t.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0, 'never fewer ready pods during a rollout');
      const pod = deployment.spec.template.spec;
      t.strictSame(deployment.spec.selector.matchLabels, {
        'app.kubernetes.io/name': 'clusterip-guard',
        'app.kubernetes.io/instance': RELEASE_NAME,
      });
      for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels)) {
        t.equal(deployment.spec.template.metadata.labels[k], v, `pod label ${k}`);
      }
      t.match(deployment.spec.template.metadata.annotations['checksum/config'], /^[0-9a-f]{64}$/);

      t.test('restricted security context', async (t) => {
        t.equal(pod.securityContext.runAsNonRoot, true);
        t.equal(pod.securityContext.runAsUser, 65532);
        t.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
        t.notOk(pod.hostNetwork, 'no host network by default');
        t.notOk(pod.hostPID || pod.hostIPC, 'no host namespaces');
        t.equal(pod.containers.length, 1);
        const sc = pod.containers[0].securityContext;
        t.equal(sc.runAsNonRoot, true);
        t.equal(sc.runAsUser, 65532);
        t.equal(sc.readOnlyRootFilesystem, true);
        t.equal(sc.allowPrivilegeEscalation, false);
        t.strictSame(sc.capabilities, { drop: ['ALL'] });
        t.equal(sc.seccompProfile.type, 'RuntimeDefault');
        t.notOk(sc.privileged);
        for (const v of pod.volumes) t.notOk(v.hostPath, `volume ${v.name} is not a hostPath`);
      });

      t.test('command line, ports, probes and mounts', async (t) => {
        const c = pod.containers[0];
        t.equal(c.image, 'clusterip-guard:0.1.0', 'tag defaults to appVersion');
        t.equal(c.command, undefined, 'the image entrypoint runs node dist/main.js');
        t.equal(c.args[0], 'serve');
        const flag = (name: string): string | undefined =>
          (c.args as string[]).find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
        t.equal(flag('port'), '8443');
        t.equal(flag('probe-port'), '9090');
        t.equal(flag('drain-delay'), '5s', 'drain delay from drainDelaySeconds');
        t.equal(flag('shutdown-timeout'), '20s', 'shutdown timeout from shutdownTimeoutSeconds');
        t.notOk((c.args as string[]).includes('--no-cluster'), 'reads live cluster state by default');
        const ports = Object.fromEntries((c.ports as Any[]).map((p) => [p.name, p.containerPort]));
        t.strictSame(ports, { https: 8443, probes: 9090 });
        t.strictSame(c.livenessProbe.httpGet, { path: '/healthz', port: 'probes' });
        t.strictSame(c.readinessProbe.httpGet, { path: '/readyz', port: 'probes' });
        t.equal(c.livenessProbe.httpGet.scheme, undefined, 'probes are plain HTTP');

        const mounts = Object.fromEntries((c.volumeMounts as Any[]).map((m) => [m.name, m]));
        const tls = mounts.tls;
        t.equal(tls.mountPath, '/etc/clusterip-guard/tls');
        t.equal(tls.subPath, undefined, 'TLS directory mounted whole so renewals reach the pod');
        t.equal(flag('tls-cert'), `${tls.mountPath}/tls.crt`);
        t.equal(flag('tls-key'), `${tls.mountPath}/tls.key`);
        t.equal(flag('config'), mounts.config.mountPath);
        const configVolume = pod.volumes.find((v: Any) => v.name === 'config');
        t.equal(configVolume.configMap.name, FULLNAME);
        const tlsVolume = pod.volumes.find((v: Any) => v.name === 'tls');
        if (expect.tlsMode === 'secret') t.equal(tlsVolume.secret.secretName, values.tls.secret.name);
        t.equal(tlsVolume.secret.defaultMode, 0o440);
        t.ok(mounts.tmp, 'a writable /tmp on a read-only root');
      });

      t.test('shutdown and resources', async (t) => {
        const c = pod.containers[0];
        t.strictSame(c.lifecycle.preStop, { sleep: { seconds: 5 } }, 'sleep action: the image has no shell');
        t.ok(
          pod.terminationGracePeriodSeconds > c.lifecycle.preStop.sleep.seconds + expect.mutating.timeoutSeconds,
          'grace period covers the preStop sleep plus one full webhook timeout',
        );
        t.ok(
          pod.terminationGracePeriodSeconds > c.lifecycle.preStop.sleep.seconds + 5 + 20,
          'grace period covers the preStop sleep, the drain delay and the shutdown timeout',
        );
        t.ok(c.resources.requests.cpu && c.resources.requests.memory, 'requests set');
        t.ok(c.resources.limits.memory, 'memory limit set');
        t.equal(c.resources.limits.cpu, undefined, 'no CPU limit: throttling would be admission latency');
        const heap = /^--max-old-space-size=(\d+)$/.exec(c.env?.find((e: Any) => e.name === 'NODE_OPTIONS')?.value ?? '');
        t.ok(heap, 'the heap flag is set through NODE_OPTIONS');
        const mi = (q: string) => Number(/^(\d+)(Mi|Gi)$/.exec(q)![1]) * (q.endsWith('Gi') ? 1024 : 1);
        t.ok(mi(c.resources.limits.memory) >= 2 * Number(heap?.[1]) + 150, 'the memory limit holds both heaps (main thread and worker) and what lies outside them');
      });

      t.test('spreading', async (t) => {
        const selector = deployment.spec.selector.matchLabels;
        const keys = (pod.topologySpreadConstraints as Any[]).map((c) => c.topologyKey);
        t.strictSame(keys, ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
        for (const c of pod.topologySpreadConstraints) {
          t.equal(c.whenUnsatisfiable, 'ScheduleAnyway');
          t.strictSame(c.labelSelector.matchLabels, selector);
        }
        const anti = pod.affinity.podAntiAffinity;
        if (expect.antiAffinity === 'soft') {
          const [term] = anti.preferredDuringSchedulingIgnoredDuringExecution;
          t.equal(term.podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
          t.strictSame(term.podAffinityTerm.labelSelector.matchLabels, selector);
          t.equal(anti.requiredDuringSchedulingIgnoredDuringExecution, undefined);
        } else {
          const [term] = anti.requiredDuringSchedulingIgnoredDuringExecution;
          t.equal(term.topologyKey, 'kubernetes.io/hostname');
          t.strictSame(term.labelSelector.matchLabels, selector);
        }
      });
    });

    t.test('PodDisruptionBudget', async (t) => {
      const pdb: Any = findOne(objects, 'PodDisruptionBudget');
      t.equal(pdb.spec.minAvailable, 1);
      t.equal(pdb.spec.maxUnavailable, undefined);
      t.equal(pdb.spec.unhealthyPodEvictionPolicy, 'AlwaysAllow');
      const deployment: Any = findOne(objects, 'Deployment');
      t.strictSame(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
    });

    t.test('Service', async (t) => {
      const service: Any = findOne(objects, 'Service', FULLNAME);
      t.equal(service.spec.type, 'ClusterIP');
      t.strictSame(service.spec.ports, [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
      const deployment: Any = findOne(objects, 'Deployment');
      t.strictSame(service.spec.selector, deployment.spec.selector.matchLabels);
      const https = deployment.spec.template.spec.containers[0].ports.find((p: Any) => p.name === 'https');
      t.equal(https.containerPort, 8443, 'Service 443 -> container 8443');
    });

    t.test('RBAC reads what the cache reads; writes only reports (audit.reports) and its Lease', async (t) => {
      const role: Any = findOne(objects, 'ClusterRole');
      const writesReports = values.audit?.reports !== false;
      const reads = (role.rules as Any[]).filter((r) => !r.apiGroups.includes('openreports.io'));
      t.strictSame([...new Set<string>(reads.flatMap((r) => r.verbs))].sort(), ['get', 'list', 'watch'], 'read-only on everything but reports');
      const reportRules = (role.rules as Any[]).filter((r) => r.apiGroups.includes('openreports.io'));
      if (writesReports) {
        t.equal(reportRules.length, 1);
        t.strictSame([...reportRules[0].resources].sort(), ['clusterreports', 'reports']);
        t.strictSame([...reportRules[0].verbs].sort(), ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']);
        const lease: Any = findOne(objects, 'Role');
        t.equal(lease.metadata.namespace, RELEASE_NAMESPACE, 'the Lease Role is in the release namespace');
        t.strictSame((lease.rules as Any[]).map((r) => [r.apiGroups, r.resources, r.verbs, r.resourceNames ?? null]), [
          [['coordination.k8s.io'], ['leases'], ['create'], null],
          [['coordination.k8s.io'], ['leases'], ['get', 'update', 'patch'], ['clusterip-guard-audit']],
        ]);
        const leaseBinding: Any = findOne(objects, 'RoleBinding');
        t.strictSame(leaseBinding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: lease.metadata.name });
      } else {
        t.equal(reportRules.length, 0, 'audit.reports off: no write verbs at all');
        t.equal(objects.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding').length, 0, 'and no Lease Role');
      }
      for (const rule of role.rules) {
        t.notOk(rule.resources.includes('*') || rule.apiGroups.includes('*'), 'no wildcards');
        t.equal(rule.resourceNames, undefined);
      }
      const allowed = (group: string, resource: string): boolean =>
        (role.rules as Any[]).some((r) => r.apiGroups.includes(group) && r.resources.includes(resource));
      for (const group of CALICO_GROUPS) {
        for (const resource of ['ippools', 'bgpconfigurations', 'hostendpoints', 'globalnetworkpolicies']) {
          t.ok(allowed(group, resource), `${group} ${resource}`);
        }
      }
      t.ok(allowed('', 'services'), 'core services');
      t.notOk(allowed('', 'secrets'), 'never secrets');

      const binding: Any = findOne(objects, 'ClusterRoleBinding');
      t.strictSame(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
      const deployment: Any = findOne(objects, 'Deployment');
      const sa = findOne(objects, 'ServiceAccount');
      t.strictSame(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: RELEASE_NAMESPACE }]);
      t.equal(deployment.spec.template.spec.serviceAccountName, sa.metadata.name);
    });

    t.test('ConfigMap holds a config the webhook accepts', async (t) => {
      const cm: Any = findOne(objects, 'ConfigMap', FULLNAME);
      t.strictSame(Object.keys(cm.data), ['config.yaml']);
      const config = parseYaml(cm.data['config.yaml']);
      const { ajv, validate } = configValidator;
      t.ok(validate(config), `config.yaml against src/config/schema.json: ${ajv.errorsText(validate.errors)}`);
      const { audit, ...rest } = config;
      t.strictSame(rest, values.config ?? {}, 'config.yaml is the `config` value, plus the audit section');
      t.match(audit, { reports: values.audit?.reports !== false, debounceSeconds: 10, intervalSeconds: 3600, lease: { namespace: RELEASE_NAMESPACE, durationSeconds: 15 } }, 'audit from the audit values, Lease in the release namespace');
    });
  });
}

t.test('custom-rules config: rules, exemptions and exposure reach the ConfigMap', async (t) => {
  const objects = await objectsFor('custom-rules-values.yaml');
  const config: Any = parseYaml((findOne(objects, 'ConfigMap') as Any).data['config.yaml']);
  t.equal(config.rules['gnp-host-traffic-allowed'], 'off', '"off" stays a string, not a YAML 1.1 boolean');
  t.equal(config.rules['hostendpoint-expected-ips'], 'off');
  t.equal(config.rules['gnp-pod-cidr-allowed'], 'warn');
  t.strictSame(config.exposure.namespaces, ['edge', 'ingress-public']);
  t.strictSame(config.exemptions.groups, ['platform:break-glass']);
});

t.test('a CIDR the webhook would refuse is caught by the config check', async (t) => {
  const objects = parseManifests(await renderChart('default-values.yaml', { set: ['config.network.podCIDRs={10.0.0.0/33}'] }));
  const config = parseYaml((findOne(objects, 'ConfigMap') as Any).data['config.yaml']);
  t.notOk(configValidator.validate(config), 'helm ignores the cidr format, so this test is what catches it');
});

t.test('one replica renders no PodDisruptionBudget (it would block drains)', async (t) => {
  const objects = await renderObjects('default-values.yaml', { set: ['replicaCount=1'] });
  t.equal(objects.filter((o) => o.kind === 'PodDisruptionBudget').length, 0);
  t.equal((findOne(objects, 'Deployment') as Any).spec.replicas, 1);
});

t.test('clusterState.enabled=false: --no-cluster, no RBAC, no token', async (t) => {
  const objects = await renderObjects('default-values.yaml', { set: ['clusterState.enabled=false'] });
  const pod = (findOne(objects, 'Deployment') as Any).spec.template.spec;
  t.ok(pod.containers[0].args.includes('--no-cluster'));
  t.equal(pod.automountServiceAccountToken, false);
  t.equal(objects.filter((o) => o.kind.startsWith('ClusterRole')).length, 0);
});

t.test('preStopSleepSeconds=0 drops the hook; hostNetwork sets the DNS policy', async (t) => {
  const objects = await renderObjects('default-values.yaml', { set: ['preStopSleepSeconds=0', 'hostNetwork=true'] });
  const pod = (findOne(objects, 'Deployment') as Any).spec.template.spec;
  t.equal(pod.containers[0].lifecycle, undefined);
  t.equal(pod.hostNetwork, true);
  t.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
});

t.test('config changes roll the pods', async (t) => {
  const checksum = async (set: string[]): Promise<string> =>
    (findOne(await renderObjects('default-values.yaml', { set }), 'Deployment') as Any).spec.template.metadata.annotations['checksum/config'];
  t.not(await checksum([]), await checksum(['config.rules.gnp-schema=warn']));
});

t.test('image digest wins over the tag', async (t) => {
  const digest = `sha256:${'a'.repeat(64)}`;
  const objects = await renderObjects('default-values.yaml', { set: [`image.digest=${digest}`, 'image.repository=registry.example/cig'] });
  t.equal((findOne(objects, 'Deployment') as Any).spec.template.spec.containers[0].image, `registry.example/cig@${digest}`);
});

t.test('long release names are cut to 63 characters and stay distinct', async (t) => {
  const releaseName = `r${'x'.repeat(52)}`; // 53: helm's limit for release names
  const objects = await renderObjects('default-values.yaml', { releaseName, namespace: 'guard' });
  const names = new Map<string, string[]>();
  for (const o of objects) {
    t.ok(o.metadata.name.length <= 63, `${o.kind} ${o.metadata.name} (${o.metadata.name.length})`);
    t.match(o.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${o.kind} name is a DNS label`);
    names.set(o.kind, [...(names.get(o.kind) ?? []), o.metadata.name]);
  }
  const issuers = names.get('Issuer') ?? [];
  t.equal(new Set(issuers).size, 2, 'the two Issuers keep distinct names');
  t.equal(new Set(names.get('Certificate')).size, 2, 'the two Certificates keep distinct names');
  const hook: Any = webhookOf(objects, 'MutatingWebhookConfiguration');
  t.equal(hook.clientConfig.service.name, (findOne(objects, 'Service') as Any).metadata.name);
  t.ok(hook.namespaceSelector.matchExpressions[0].values.includes('guard'), 'excludes the namespace it is installed in');
});

for (const scenario of SCENARIOS) {
  t.test(`NOTES.txt for ${scenario} tells how to check the webhook`, async (t) => {
    const notes = await renderNotes(scenario);
    const values = scenarioValues(scenario);
    const label: string = values.config?.exposure?.label ?? 'clusterip-guard.io/exposed';
    t.match(notes, /kubectl apply --dry-run=server -f -/);
    t.ok(notes.includes(`${label}: "true"`), `the smoke-test Service carries the exposure label ${label}`);
    t.notMatch(notes, /clusterIP: [0-9]/, 'the smoke-test Service leaves clusterIP out');
    t.match(notes, /admission webhook "mutate\.clusterip-guard\.io" denied the request: \[service-cluster-ip-pinned\]/);
    t.match(notes, /calico-apiserver/);
    t.match(notes, /^1\. /m);
    if (EXPECT[scenario].tlsMode === 'url') t.match(notes, /https:\/\/127\.0\.0\.1:8443\/mutate/);
    else t.match(notes, new RegExp(`rollout status deployment/${FULLNAME}`));
  });
}
