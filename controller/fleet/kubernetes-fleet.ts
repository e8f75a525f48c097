// The Fleet in a cluster: the same lifecycle as on a laptop, over the Kubernetes runtime
// (scale subresource, pod informer, pod addresses) with leader election on a Lease, so of
// several controller replicas only one puts servers to sleep.
import { randomBytes } from 'node:crypto';
import { loadKubeConfig } from '../runtime/kubernetes/kube-config.ts';
import { KubernetesRuntime } from '../runtime/kubernetes/kubernetes-runtime.ts';
import { LeaderElector } from '../runtime/kubernetes/leader-election.ts';
import type { Fleet } from './fleet.ts';
import { createLocalFleet, type LocalFleetOptions } from './local-fleet.ts';

export const LEADER_LEASE = 'mcpfleet-controller';

export interface KubernetesFleetOptions extends LocalFleetOptions {
  namespace: string;
  podName: string;
  kubeconfig?: string;
  /** Lease timings (tests shorten them); client-go's defaults otherwise. */
  leaderElection?: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
}

export function createKubernetesFleet(options: KubernetesFleetOptions): Fleet {
  const { namespace, podName, kubeconfig, leaderElection, ...fleet } = options;
  const kubeConfig = loadKubeConfig({ kubeconfig });
  const logger = fleet.logger.child({ component: 'kubernetes' });
  const runtime = new KubernetesRuntime({
    kubeConfig,
    namespace,
    logger,
    onScalePatch: (patch) =>
      fleet.metrics.scalePatches.inc({
        server: patch.server,
        direction: patch.to > patch.from ? 'up' : 'down',
      }),
  });
  // Pod name plus a per-process suffix: a restarted container is a new candidate.
  const identity = `${podName}_${randomBytes(4).toString('hex')}`;
  const leadership = new LeaderElector({
    kubeConfig,
    namespace,
    leaseName: LEADER_LEASE,
    identity,
    logger,
    ...leaderElection,
    onStartedLeading: () => fleet.metrics.leader.set(1),
    onStoppedLeading: () => fleet.metrics.leader.set(0),
  });
  return createLocalFleet({ ...fleet, replicaId: identity, runtime, leadership });
}
