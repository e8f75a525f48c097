// The one place that picks the Fleet implementation for a runtime: startController calls
// this, nothing else constructs a fleet for `mcpfleet serve`.
import type { Fleet } from './fleet.ts';
import { createLocalFleet, type LocalFleetOptions } from './local-fleet.ts';

export type RuntimeName = 'local' | 'kubernetes';
export const RUNTIMES: readonly RuntimeName[] = ['local', 'kubernetes'];

/** Where the Kubernetes runtime works: this controller's namespace, pod and API credentials. */
export interface KubernetesOptions {
  /** The namespace holding the server Deployments (the controller's own). */
  namespace: string;
  /** This controller replica's pod name: its identity for wake locks and the leader lease. */
  podName: string;
  /** A kubeconfig file (or a KUBECONFIG-style list); absent = the in-cluster service account. */
  kubeconfig?: string;
}

export type FleetTarget = { runtime: 'local' } | ({ runtime: 'kubernetes' } & KubernetesOptions);

export interface CreateFleetOptions extends LocalFleetOptions {
  target: FleetTarget;
}

export async function createFleet(options: CreateFleetOptions): Promise<Fleet> {
  const { target, ...fleetOptions } = options;
  switch (target.runtime) {
    case 'local':
      return createLocalFleet(fleetOptions);
    case 'kubernetes': {
      const { runtime: _runtime, ...kubernetes } = target;
      // Loaded only here: @kubernetes/client-node costs a local controller ~50 MB of RSS.
      const { createKubernetesFleet } = await import('./kubernetes-fleet.ts');
      return createKubernetesFleet({ ...fleetOptions, ...kubernetes });
    }
  }
}
