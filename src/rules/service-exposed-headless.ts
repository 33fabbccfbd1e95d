/**
 * service-exposed-headless — an exposed Service cannot be headless.
 *
 * Fields: spec.clusterIP / spec.clusterIPs equal to "None". A headless Service has no cluster
 * IP, so Calico advertises nothing for it and external clients cannot reach it the way the
 * exposure label promises.
 */
import { exposureReason } from '../kube/exposure.ts';
import type { Rule } from './types.ts';
import { SERVICE } from './support/kinds.ts';
import { isHeadless, objectRef, serviceSpec } from './support/service.ts';

export const serviceExposedHeadless: Rule = {
  id: 'service-exposed-headless',
  kinds: SERVICE,
  stages: ['mutate'],
  defaultAction: 'enforce',
  doc: 'An exposed Service must not be headless (clusterIP: None): there is no cluster IP to advertise over BGP.',
  check({ object, config }) {
    const reason = exposureReason(object, config);
    if (reason === null || !isHeadless(serviceSpec(object))) return [];
    return [
      {
        path: 'spec.clusterIP',
        message:
          `Service ${objectRef(object)} is exposed (${reason}) but headless (clusterIP: None): Calico advertises no route for it, so external clients cannot reach it. ` +
          `Fix: set spec.clusterIP to an address in the advertised service range, or remove the exposure (${config.exposure.label}).`,
      },
    ];
  },
};
