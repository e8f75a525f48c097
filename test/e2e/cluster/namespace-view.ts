// Reading the test namespace through the apiserver: its pods (as stored, defaults and admission
// additions included), a Deployment's scale, and the pod template a collected workload declares.
import type { Applier } from './apply.ts';
import type { K8sObject } from './collect-objects.ts';

export interface PodContainer {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string }[];
  [field: string]: unknown;
}

export interface PodSpec {
  nodeName?: string;
  serviceAccountName?: string;
  containers: PodContainer[];
  volumes: object[];
}

export interface Pod {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  spec: PodSpec;
  status: {
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; restartCount: number }[];
  };
}

export interface NamespaceView {
  pods(labelSelector?: string): Promise<Pod[]>;
  /** spec.replicas of a Deployment's scale subresource. */
  scale(deployment: string): Promise<number>;
}

export function namespaceView(applier: Applier, namespace: string): NamespaceView {
  return {
    async pods(labelSelector) {
      const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
      return (
        await applier.request<{ items: Pod[] }>(
          'GET',
          `/api/v1/namespaces/${namespace}/pods${query}`,
        )
      ).items;
    },
    async scale(deployment) {
      const scale = await applier.request<{ spec: { replicas?: number } }>(
        'GET',
        `/apis/apps/v1/namespaces/${namespace}/deployments/${deployment}/scale`,
      );
      return scale.spec.replicas ?? 0;
    },
  };
}

export const isReady = (pod: Pod): boolean =>
  pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** The pod template a Deployment or StatefulSet declares. */
export const podTemplate = (workload: K8sObject): PodSpec =>
  (workload.spec as { template: { spec: PodSpec } }).template.spec;

/** Workloads that run pods from the start (replicas > 0). */
export const runningWorkloads = (objects: readonly K8sObject[]): K8sObject[] =>
  objects.filter(
    (o) =>
      (o.kind === 'Deployment' || o.kind === 'StatefulSet') &&
      ((o.spec as { replicas?: number }).replicas ?? 1) > 0,
  );
