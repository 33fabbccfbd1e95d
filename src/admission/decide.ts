import type { ClusterState } from '../cluster/types.ts';
import type { Config } from '../config/types.ts';
import type { RuleRegistry } from '../rules/registry.ts';
import type { Stage } from '../rules/types.ts';
import type { AuditFinding, AuditRecord, DecisionKind } from './audit-record.ts';
import { isCalicoApiServerRelay } from './calico-apiserver.ts';
import { evaluate, findingText, type Evaluation } from './evaluate.ts';
import type { AdmissionRequest, AdmissionResponse } from './types.ts';

/** What a review gets back: the reply to the API server and the audit line. */
export type Decision = { response: AdmissionResponse; audit: AuditRecord };
/** A synchronous decision over the current snapshot (the server's `Admit` may defer it to a worker). */
export type Decide = (stage: Stage, request: AdmissionRequest) => Decision;

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

/**
 * Caps on what goes back to the API server. Warnings: it turns each into a `Warning: 299`
 * header and caps their total at 4 KiB (cutting items to 256 characters once over), so we stay
 * inside that budget ourselves and say how many were left out. The denial message and each
 * audit annotation are bounded the same way; the audit log line always has every finding.
 */
/** Below 4096: the API server counts the texts after quoting them for the header. */
export const WARNINGS_BUDGET = 4000;
export const MESSAGE_BUDGET = 8192;
export const ANNOTATION_BUDGET = 4096;
/** Room kept in each budget for the "… and N more" line. */
const MORE_RESERVE = 80;

/** As many `texts` as fit in `budget` UTF-8 bytes, each cut to fit; the rest summed up in one last line. */
export function withinBudget(texts: readonly string[], budget: number, separator = 0): string[] {
  const out: string[] = [];
  let used = 0;
  for (let i = 0; i < texts.length; i++) {
    const left = texts.length - i - 1;
    const room = budget - used - (left > 0 ? MORE_RESERVE : 0);
    let text = texts[i]!;
    if (Buffer.byteLength(text) > room) {
      if (room < 200) {
        out.push(`… and ${texts.length - i} more (the audit log has them all)`);
        return out;
      }
      text = `${truncate(text, room - 4)}…`;
    }
    out.push(text);
    used += Buffer.byteLength(text) + separator;
  }
  return out;
}

/** The longest prefix of `text` within `bytes` UTF-8 bytes, not splitting a character. */
function truncate(text: string, bytes: number): string {
  const cut = Buffer.from(text).subarray(0, bytes).toString('utf8');
  return cut.endsWith('\uFFFD') ? cut.slice(0, -1) : cut;
}

function buildResponse(uid: string, stage: Stage, ev: Evaluation | null): AdmissionResponse {
  if (ev === null || ev.findings.length === 0) return { uid, allowed: true };
  const response: AdmissionResponse = { uid, allowed: !ev.denied };
  const denials: string[] = [];
  const warnings: string[] = [];
  const byRule = new Map<string, Array<Omit<AuditFinding, 'rule'>>>();
  for (const { rule, ...rest } of ev.findings) {
    if (rest.action === 'enforce') denials.push(findingText({ rule, ...rest }));
    else if (rest.action === 'warn' || rest.action === 'patch') warnings.push(findingText({ rule, ...rest }));
    const list = byRule.get(rule);
    if (list === undefined) byRule.set(rule, [rest]);
    else list.push(rest);
  }
  if (ev.denied) response.status = { code: 403, reason: 'Forbidden', message: withinBudget(denials, MESSAGE_BUDGET, 1).join('\n') };
  if (warnings.length > 0) response.warnings = withinBudget(warnings, WARNINGS_BUDGET);
  response.auditAnnotations = Object.fromEntries([...byRule].map(([rule, list]) => [rule, annotationValue(list)]));
  if (stage === 'mutate' && !ev.denied && ev.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(ev.patch)).toString('base64');
  }
  return response;
}

/** A rule's findings as a JSON list within `ANNOTATION_BUDGET`; when cut, the last item is `{ "more": N }`. */
function annotationValue(list: ReadonlyArray<Omit<AuditFinding, 'rule'>>): string {
  const items: string[] = [];
  let used = 2;
  for (let i = 0; i < list.length; i++) {
    const item = JSON.stringify(list[i]);
    used += item.length + 1;
    if (used > ANNOTATION_BUDGET - (i < list.length - 1 ? 20 : 0)) {
      items.push(JSON.stringify({ more: list.length - i }));
      break;
    }
    items.push(item);
  }
  return `[${items.join(',')}]`;
}

/**
 * The admission decision for one AdmissionRequest: pure and synchronous. Kinds without rules,
 * CONNECT, exempt requests and calico-apiserver's relayed writes are allowed untouched; DELETE
 * reaches only rules that judge it.
 */
export function createAdmit(deps: AdmitDeps): Decide {
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
      namespace: textOrNull(request.namespace ?? object?.metadata?.namespace),
      name: textOrNull(request.name ?? object?.metadata?.name),
      user: request.userInfo?.username ?? null,
      decision,
      findings: ev?.findings ?? [],
      patch: decision === 'patch' ? ev!.patch : [],
    };
    return { response, audit };
  };
}

/** The object's own fields are unchecked JSON: only a string is a name. */
const textOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);
