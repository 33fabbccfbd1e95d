/**
 * calico-apiserver's second call.
 *
 * With calico-apiserver installed, `kubectl apply` of a projectcalico.org/v3 GlobalNetworkPolicy
 * `x` reaches the webhooks twice: first from calico-apiserver itself, for the v3 object with the
 * end user's identity (that call is judged as usual: findings, patches, denials, warnings); then,
 * once calico-apiserver stores it as crd.projectcalico.org/v1 `default.x`, from kube-apiserver
 * for that write, under calico-apiserver's own identity. The second call is the same change:
 *
 * - it is allowed untouched: judging it again would double every finding, warning and metric,
 *   and a patch would change the stored object behind calico-apiserver's back (it writes the
 *   whole object from its v3 view again on the next update, undoing the patch);
 * - it is logged as decision `relayed` with no findings, so audit lines and decision metrics
 *   count one user decision per change.
 *
 * Only writes to crd.projectcalico.org by a configured calico-apiserver username qualify: the
 * same user writing another group, or anyone else writing crd.projectcalico.org, is judged.
 * This relies on the webhooks also being registered for projectcalico.org/v3 (the chart does so);
 * otherwise the first call never comes and nothing judges the change.
 */
import type { Config } from '../config/types.ts';
import type { AdmissionRequest } from './types.ts';

export const CALICO_CRD_GROUP = 'crd.projectcalico.org';

/** True when the request is calico-apiserver storing a projectcalico.org/v3 change it already put to the webhooks. */
export function isCalicoApiServerRelay(request: Pick<AdmissionRequest, 'kind' | 'userInfo'>, config: Pick<Config, 'calicoApiServer'>): boolean {
  const username = request.userInfo?.username;
  return request.kind.group === CALICO_CRD_GROUP && username !== undefined && config.calicoApiServer.usernames.includes(username);
}

/**
 * The policy name users see for a stored one: calico-apiserver stores policy `x` of the default
 * tier as crd.projectcalico.org/v1 `default.x`, so `x` and `default.x` are one policy.
 * Other tiers' policies are named `<tier>.<name>` in both groups.
 * @example userFacingPolicyName('default.allow-cluster-ips') // 'allow-cluster-ips'
 */
export function userFacingPolicyName(name: string): string {
  return name.startsWith('default.') && name.length > 'default.'.length ? name.slice('default.'.length) : name;
}

/** True when two policy names are one policy (`x` in projectcalico.org/v3, `default.x` in crd.projectcalico.org/v1). */
export function samePolicyName(a: string, b: string): boolean {
  return a === b || userFacingPolicyName(a) === userFacingPolicyName(b);
}
