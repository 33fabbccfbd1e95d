import type { ClusterState } from '../cluster/types.ts';
import type { Config } from '../config/types.ts';
import type { RuleRegistry } from '../rules/registry.ts';
import type { Stage } from '../rules/types.ts';
import type { AuditFinding, AuditRecord, DecisionKind } from './audit-record.ts';
import { isCalicoApiServerRelay } from './calico-apiserver.ts';
import { evaluate, findingText, type Evaluation } from './evaluate.ts';
import type { AdmissionRequest, AdmissionResponse } from './types.ts';

export type Admit = (stage: Stage, request: AdmissionRequest) => { response: AdmissionResponse; audit: AuditRecord };

export interface AdmitDeps {
  registry: RuleRegistry;
  config: Config;
  cluster: Pick<ClusterState, 'snapshot'>;
}

/** Requests clusterip-guard never judges: exempt namespaces, users and groups. */
function isExempt(request: AdmissionRequest, config: Config): boolean {
  const { namespaces, usernames, groups } = config.exemptions;
  if (request.namespace !== undefined && namespaces.includes(request.namespace)) return true;
  const user = request.userInfo;
  if (user?.username !== undefined && usernames.includes(user.username)) return true;
  return (user?.groups ?? []).some((g) => groups.includes(g));
}

function buildResponse(uid: string, stage: Stage, ev: Evaluation | null): AdmissionResponse {
  if (ev === null || ev.findings.length === 0) return { uid, allowed: true };
  const response: AdmissionResponse = { uid, allowed: !ev.denied };
  const denials = ev.findings.filter((f) => f.action === 'enforce');
  const warnings = ev.findings.filter((f) => f.action === 'warn' || f.action === 'patch').map(findingText);
  if (ev.denied) response.status = { code: 403, reason: 'Forbidden', message: denials.map(findingText).join('\n') };
  if (warnings.length > 0) response.warnings = warnings;
  const byRule = new Map<string, Array<Omit<AuditFinding, 'rule'>>>();
  for (const { rule, ...rest } of ev.findings) byRule.set(rule, [...(byRule.get(rule) ?? []), rest]);
  response.auditAnnotations = Object.fromEntries([...byRule].map(([rule, list]) => [rule, JSON.stringify(list)]));
  if (stage === 'mutate' && !ev.denied && ev.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(ev.patch)).toString('base64');
  }
  return response;
}

/**
 * The admission decision for one AdmissionRequest: pure and synchronous. Kinds without rules,
 * CONNECT, exempt requests and calico-apiserver's relayed writes are allowed untouched; DELETE
 * reaches only rules that judge it.
 */
export function createAdmit(deps: AdmitDeps): Admit {
  const { registry, config } = deps;
  return (stage, request) => {
    const { group, version, kind } = request.kind;
    let ev: Evaluation | null = null;
    // On DELETE the API server sends the deleted object as oldObject and no object.
    const object = request.operation === 'DELETE' ? request.oldObject : request.object;
    // calico-apiserver storing a v3 change: the v3 request was judged already.
    const relayed = isCalicoApiServerRelay(request, config);
    const judged =
      !relayed &&
      (request.operation === 'CREATE' || request.operation === 'UPDATE' || request.operation === 'DELETE') &&
      object != null &&
      registry.forKind(stage, group, kind).length > 0 &&
      !isExempt(request, config);
    if (judged) {
      ev = evaluate(
        stage,
        { group, kind, operation: request.operation, object: object!, oldObject: request.oldObject ?? null },
        { registry, config, cluster: deps.cluster.snapshot() },
      );
    }
    const response = buildResponse(request.uid, stage, ev);
    const decision: DecisionKind = relayed ? 'relayed' : ev?.denied ? 'deny' : response.patch !== undefined ? 'patch' : 'allow';
    const audit: AuditRecord = {
      uid: request.uid,
      endpoint: stage,
      operation: request.operation,
      dryRun: request.dryRun === true,
      group,
      version,
      kind,
      namespace: request.namespace ?? object?.metadata?.namespace ?? null,
      name: request.name ?? object?.metadata?.name ?? null,
      user: request.userInfo?.username ?? null,
      decision,
      findings: ev?.findings ?? [],
      patch: decision === 'patch' ? ev!.patch : [],
    };
    return { response, audit };
  };
}
