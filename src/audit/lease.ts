import type { KubeConfig } from '@kubernetes/client-node';
import { describeAnswer, kubeRequest, type KubeAnswer } from './kube-client.ts';
import { holdMs, leaseExpiresAt, parseMicroTime } from './lease-expiry.ts';

/**
 * Leader election on a coordination.k8s.io/v1 Lease, so only one replica scans and writes
 * reports. @kubernetes/client-node has no leader election (client-go's lives in
 * tools/leaderelection); this follows the same protocol in small:
 * - every `retrySeconds` a replica reads the Lease; the holder renews `renewTime`, anyone
 *   else takes it (optimistic concurrency: a PUT with the read resourceVersion, so two
 *   candidates cannot both win) when it is free or has expired: `durationSeconds` after its
 *   `renewTime`, read within bounds of when this replica saw the record (lease-expiry.ts), so a
 *   killed holder's lease moves `durationSeconds` after its last renewal when clocks agree, and
 *   a skewed clock moves it early by at most `retrySeconds`;
 * - a follower's next attempt is at that expiry when it comes before the next poll;
 * - a holder that cannot renew stops acting as leader `retrySeconds` before the duration is
 *   over (a timer, not the next poll), so even an early takeover does not overlap its writes;
 * - `stop()` releases the lease (holder cleared) so the next replica takes over at once.
 * Admission never depends on any of this: errors only change who writes reports.
 */

export interface LeaseOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  durationSeconds: number;
  retrySeconds: number;
  onChange: (isLeader: boolean) => void;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  /** Milliseconds clock; tests pass their own. */
  now?: () => number;
}

export interface LeaseElector {
  isLeader(): boolean;
  stop(): Promise<void>;
}

interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { holderIdentity?: string | null; leaseDurationSeconds?: number; acquireTime?: string | null; renewTime?: string | null; leaseTransitions?: number };
}

/** RFC 3339 with microseconds, as MicroTime is written. */
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export function startLeaseElector(options: LeaseOptions): LeaseElector {
  const { kubeConfig, namespace, name, identity, logger } = options;
  const now = options.now ?? Date.now;
  const durationMs = options.durationSeconds * 1000;
  const path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const abort = new AbortController();
  let leader = false;
  let lastRenewed = 0;
  const retryMs = options.retrySeconds * 1000;
  const holdForMs = holdMs(durationMs, retryMs);
  /** The last record seen (holder + renewTime + resourceVersion) and when this replica received it. */
  let observed = { key: '', at: 0 };
  let timer: NodeJS.Timeout | undefined;
  /** Steps a holder down once it has not renewed for `holdForMs`; re-armed by every renewal. */
  let holdTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  const renewed = (t: number) => {
    lastRenewed = t;
    clearTimeout(holdTimer);
    holdTimer = setTimeout(() => {
      if (leader && now() - lastRenewed >= holdForMs) setLeader(false, `could not renew for ${holdForMs / 1000} s`);
    }, Math.max(0, lastRenewed + holdForMs - now()));
  };

  const setLeader = (value: boolean, why: string) => {
    if (!value) clearTimeout(holdTimer);
    if (leader === value) return;
    leader = value;
    logger.info({ lease: `${namespace}/${name}`, identity, why }, value ? 'audit lease acquired: this replica writes reports' : 'audit lease lost: this replica stops writing reports');
    options.onChange(value);
  };

  const request = (method: 'GET' | 'POST' | 'PUT', sub: string, body?: unknown): Promise<KubeAnswer> =>
    kubeRequest(kubeConfig, method, `${path}${sub}`, body, AbortSignal.any([abort.signal, AbortSignal.timeout(Math.max(1000, durationMs / 2))]));

  const spec = (prev: LeaseObject['spec'] | undefined, t: number): LeaseObject['spec'] => {
    const taking = prev?.holderIdentity !== identity;
    return {
      holderIdentity: identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(options.durationSeconds)), // an int32 in the API
      acquireTime: taking ? microTime(t) : (prev?.acquireTime ?? microTime(t)),
      renewTime: microTime(t),
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (taking && prev?.holderIdentity ? 1 : 0),
    };
  };

  /** One round: read, then renew, take over or wait. Resolves with the milliseconds until the next round. */
  async function tryOnce(): Promise<number> {
    const t = now();
    const got = await request('GET', `/${encodeURIComponent(name)}`);
    if (got.status === 404) {
      const created = await request('POST', '', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: spec(undefined, t) });
      if (created.status >= 200 && created.status < 300) {
        renewed(t);
        setLeader(true, 'created the lease');
      } else if (created.status !== 409) throw new Error(`creating lease ${namespace}/${name}: ${describeAnswer(created)}`);
      return retryMs;
    }
    if (got.status < 200 || got.status > 299) throw new Error(`reading lease ${namespace}/${name}: ${describeAnswer(got)}`);
    const arrived = now();
    const lease = got.body as LeaseObject;
    const key = `${lease.spec?.holderIdentity ?? ''}|${lease.spec?.renewTime ?? ''}|${lease.metadata?.resourceVersion ?? ''}`;
    if (key !== observed.key) observed = { key, at: arrived };
    const holder = lease.spec?.holderIdentity ?? '';
    const mine = holder === identity;
    // Replicas share one config: the configured duration decides, not the record's (whole seconds).
    const expiresAt = leaseExpiresAt({ renewTime: parseMicroTime(lease.spec?.renewTime), observedAt: observed.at, durationMs, retryMs });
    if (!mine && holder !== '' && arrived < expiresAt) {
      setLeader(false, `held by ${holder}`);
      return Math.min(retryMs, expiresAt - arrived);
    }
    const staleS = Math.round((arrived - (parseMicroTime(lease.spec?.renewTime) ?? observed.at)) / 1000);
    const updated = await request('PUT', `/${encodeURIComponent(name)}`, { ...lease, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec: spec(lease.spec, t) });
    if (updated.status >= 200 && updated.status < 300) {
      renewed(t);
      const body = updated.body as LeaseObject;
      observed = { key: `${identity}|${body.spec?.renewTime ?? ''}|${body.metadata?.resourceVersion ?? ''}`, at: now() };
      setLeader(true, mine ? 'renewed' : holder === '' ? 'the lease was free' : `took over from ${holder} (not renewed for ${staleS} s)`);
    } else if (updated.status === 409) {
      // Someone else wrote first; the next round reads their record.
      if (!mine) setLeader(false, 'another replica took the lease first');
    } else throw new Error(`updating lease ${namespace}/${name}: ${describeAnswer(updated)}`);
    return retryMs;
  }

  async function loop(): Promise<void> {
    if (stopped) return;
    let waitMs = retryMs;
    try {
      waitMs = await tryOnce();
    } catch (err) {
      if (!stopped) logger.warn({ err: (err as Error).message, lease: `${namespace}/${name}` }, 'audit lease: request failed; retrying');
    }
    // A leader that could not renew in time must assume someone else may take over (the hold
    // timer does this on time; this catches a round that returned after it).
    if (leader && now() - lastRenewed >= holdForMs) setLeader(false, `could not renew for ${holdForMs / 1000} s`);
    if (!stopped) timer = setTimeout(() => void loop(), Math.max(0, waitMs));
  }

  void loop();
  return {
    isLeader: () => leader,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(holdTimer);
      const wasLeader = leader;
      setLeader(false, 'shutting down');
      abort.abort();
      if (!wasLeader) return;
      // Release: clear the holder so the next replica does not wait out the duration.
      try {
        const signal = AbortSignal.timeout(2000);
        const got = await kubeRequest(kubeConfig, 'GET', `${path}/${encodeURIComponent(name)}`, undefined, signal);
        const lease = got.body as LeaseObject;
        if (got.status === 200 && lease.spec?.holderIdentity === identity) {
          await kubeRequest(kubeConfig, 'PUT', `${path}/${encodeURIComponent(name)}`, { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(Date.now()) } }, signal);
        }
      } catch {
        // the lease expires on its own
      }
    },
  };
}
