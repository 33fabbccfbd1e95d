import type { KubeConfig } from '@kubernetes/client-node';
import { describeError, getJson, isRecord, KubeApiError } from './kube-request.ts';
import { CALICO_GROUP_VERSIONS, CALICO_RESOURCES, calicoTarget, K8S_NETWORK_POLICIES_TARGET, OPTIONAL_CALICO_RESOURCES, SERVICES_TARGET } from './resources.ts';
import type { WatchTarget } from './resources.ts';

export type DiscoveryOutcome =
  | {
      readonly ok: true;
      /** What to watch: each served Calico resource in its preferred group, plus Services. */
      readonly targets: readonly WatchTarget[];
      /** Calico plurals that neither group serves (their snapshot lists stay empty). */
      readonly missing: readonly string[];
    }
  | { readonly ok: false; readonly reason: string };

/**
 * Asks the API server which Calico resources it serves, the way kubectl does: `GET /apis`
 * for the group versions, then `GET /apis/<group>/<version>` for their resources. A resource
 * counts when it is listed with the `list` and `watch` verbs; `projectcalico.org/v3` wins over
 * `crd.projectcalico.org/v1` per resource. Never throws: a failure is `ok: false` with a
 * reason that names what is missing.
 * @example await discoverWatchTargets(kubeConfig, AbortSignal.timeout(10_000))
 */
export async function discoverWatchTargets(kubeConfig: KubeConfig, signal: AbortSignal): Promise<DiscoveryOutcome> {
  let offered: Set<string>;
  try {
    offered = groupVersionsOf(await getJson(kubeConfig, '/apis', signal));
  } catch (error) {
    const what = error instanceof KubeApiError ? 'refused API discovery' : 'is unreachable';
    return { ok: false, reason: `the cluster ${what} (${describeError(error)})` };
  }

  const served = new Map<string, ReadonlySet<string>>();
  for (const groupVersion of CALICO_GROUP_VERSIONS) {
    if (!offered.has(groupVersion)) continue;
    try {
      served.set(groupVersion, listableResourcesOf(await getJson(kubeConfig, `/apis/${groupVersion}`, signal)));
    } catch (error) {
      // Listed in /apis but gone now (CRDs being removed): not served. Anything else, such as
      // an aggregated calico-apiserver answering 503, is a failed discovery to retry.
      if (error instanceof KubeApiError && error.statusCode === 404) continue;
      return { ok: false, reason: `discovery of ${groupVersion} failed (${describeError(error)})` };
    }
  }

  const targets: WatchTarget[] = [];
  const missing: string[] = [];
  for (const resource of CALICO_RESOURCES) {
    const groupVersion = CALICO_GROUP_VERSIONS.find((gv) => served.get(gv)?.has(resource.plural) === true);
    if (groupVersion === undefined) missing.push(resource.plural);
    else targets.push(calicoTarget(resource, groupVersion));
  }
  if (targets.length === 0) {
    return {
      ok: false,
      reason: `no Calico API is served: neither ${CALICO_GROUP_VERSIONS.join(' nor ')} lists ${missing.join(', ')}`,
    };
  }
  for (const resource of OPTIONAL_CALICO_RESOURCES) {
    const groupVersion = CALICO_GROUP_VERSIONS.find((gv) => served.get(gv)?.has(resource.plural) === true);
    if (groupVersion !== undefined) targets.push(calicoTarget(resource, groupVersion));
  }
  targets.push(SERVICES_TARGET);
  if (offered.has(K8S_NETWORK_POLICIES_TARGET.groupVersion)) {
    // Optional like Calico's NetworkPolicy: a failure here leaves the list empty, not the cache down.
    try {
      const resources = listableResourcesOf(await getJson(kubeConfig, `/apis/${K8S_NETWORK_POLICIES_TARGET.groupVersion}`, signal));
      if (resources.has(K8S_NETWORK_POLICIES_TARGET.plural)) targets.push(K8S_NETWORK_POLICIES_TARGET);
    } catch {
      // not served after all
    }
  }
  return { ok: true, targets, missing };
}

/** `APIGroupList` → every `group/version` it offers. */
function groupVersionsOf(body: unknown): Set<string> {
  if (!isRecord(body) || !Array.isArray(body['groups'])) {
    throw new Error('GET /apis: the answer is not an APIGroupList');
  }
  const result = new Set<string>();
  for (const group of body['groups'] as unknown[]) {
    if (!isRecord(group) || !Array.isArray(group['versions'])) continue;
    for (const version of group['versions'] as unknown[]) {
      if (isRecord(version) && typeof version['groupVersion'] === 'string') result.add(version['groupVersion']);
    }
  }
  return result;
}

/** `APIResourceList` → plurals (not subresources) that can be listed and watched. */
function listableResourcesOf(body: unknown): Set<string> {
  const result = new Set<string>();
  if (!isRecord(body) || !Array.isArray(body['resources'])) return result;
  for (const resource of body['resources'] as unknown[]) {
    if (!isRecord(resource) || typeof resource['name'] !== 'string' || resource['name'].includes('/')) continue;
    const verbs = Array.isArray(resource['verbs']) ? (resource['verbs'] as unknown[]) : [];
    if (verbs.includes('list') && verbs.includes('watch')) result.add(resource['name']);
  }
  return result;
}
