// Watching the test namespace from outside: waiting for rollouts the way Pulumi's await logic
// does (a StatefulSet's ready replicas, a Deployment's available ones), and describing the
// namespace (pods, container states, events, the tail of container logs) when something is late.
import { existsSync, readFileSync } from 'node:fs';
import type { ProcessKubelet } from '../../cluster/kubelet/index.ts';
import { objectPath, type Applier } from './apply.ts';
import { objectKey, type K8sObject } from './collect-objects.ts';

export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
  explain?: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${explain ? `\n${await explain()}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface WorkloadStatus {
  metadata: { generation?: number };
  spec: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    updatedReplicas?: number;
  };
}

/** Pulumi's await for StatefulSets and Deployments: every wanted replica ready/available. */
export async function rolledOut(applier: Applier, object: K8sObject): Promise<boolean> {
  const live = await applier.request<WorkloadStatus>('GET', objectPath(object));
  const wanted = live.spec.replicas ?? 1;
  const status = live.status ?? {};
  if ((status.observedGeneration ?? 0) < (live.metadata.generation ?? 1)) return false;
  if (object.kind === 'StatefulSet') return (status.readyReplicas ?? 0) === wanted;
  return (
    (status.availableReplicas ?? 0) === wanted &&
    (status.updatedReplicas ?? 0) === wanted &&
    (status.replicas ?? 0) === wanted
  );
}

export function waitForRollout(
  applier: Applier,
  object: K8sObject,
  timeoutMs: number,
  kubelet: ProcessKubelet,
): Promise<void> {
  return until(
    () => rolledOut(applier, object),
    `${objectKey(object)} to roll out`,
    timeoutMs,
    () => describeNamespace(applier, object.metadata.namespace!, kubelet),
  );
}

/**
 * Pulumi's await for a Service (pulumi-kubernetes await/service.go): unless it is headless, an
 * ExternalName, selector-less or annotated `pulumi.com/skipAwait: "true"`, `pulumi up` waits (10
 * minutes, then fails) until its endpoints target a ready Pod. Returns why it would wait, or
 * undefined when it would be done.
 */
export async function pulumiServiceWait(
  applier: Applier,
  service: K8sObject,
): Promise<string | undefined> {
  const spec = service.spec as { type?: string; clusterIP?: string; selector?: object };
  if (service.metadata.annotations?.['pulumi.com/skipAwait'] === 'true') return undefined;
  if (spec.type === 'ExternalName' || spec.clusterIP === 'None' || !spec.selector) return undefined;
  const ns = service.metadata.namespace!;
  const slices = await applier.request<{
    items: { endpoints?: { conditions?: { ready?: boolean } }[] }[];
  }>(
    'GET',
    `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=kubernetes.io/service-name=${service.metadata.name}`,
  );
  const ready = slices.items.some((s) =>
    (s.endpoints ?? []).some((e) => e.conditions?.ready !== false),
  );
  return ready
    ? undefined
    : `${objectKey(service)}: Service does not target any Pods (pulumi up would wait 10 minutes, then fail)`;
}

interface PodList {
  items: {
    metadata: { name: string };
    spec: { nodeName?: string };
    status?: {
      phase?: string;
      podIP?: string;
      conditions?: { type: string; status: string }[];
      initContainerStatuses?: { name: string; state?: unknown; restartCount?: number }[];
      containerStatuses?: { name: string; state?: unknown; restartCount?: number }[];
    };
  }[];
}
interface EventList {
  items: { involvedObject?: { kind?: string; name?: string }; reason?: string; message?: string }[];
}

/** The namespace as `kubectl describe` would help to read it, for failure messages. */
export async function describeNamespace(
  applier: Applier,
  namespace: string,
  kubelet?: ProcessKubelet,
): Promise<string> {
  const lines: string[] = [`namespace ${namespace}:`];
  try {
    const pods = await applier.request<PodList>('GET', `/api/v1/namespaces/${namespace}/pods`);
    for (const pod of pods.items) {
      const s = pod.status ?? {};
      lines.push(
        `pod ${pod.metadata.name} on ${pod.spec.nodeName ?? '(unscheduled)'}: ${s.phase} ${s.podIP ?? ''} ` +
          (s.conditions ?? []).map((c) => `${c.type}=${c.status}`).join(' '),
      );
      for (const c of [...(s.initContainerStatuses ?? []), ...(s.containerStatuses ?? [])])
        lines.push(`  ${c.name}: restarts ${c.restartCount ?? 0} ${JSON.stringify(c.state)}`);
      for (const container of kubelet?.pod(namespace, pod.metadata.name)?.containers ?? []) {
        if (container.ready || !container.logPath || !existsSync(container.logPath)) continue;
        const tail = readFileSync(container.logPath, 'utf8').trimEnd().split('\n').slice(-15);
        lines.push(
          `  ${container.name} log (${container.logPath}):`,
          ...tail.map((l) => `    ${l}`),
        );
      }
    }
    const events = await applier.request<EventList>(
      'GET',
      `/api/v1/namespaces/${namespace}/events`,
    );
    for (const e of events.items)
      lines.push(
        `event ${e.involvedObject?.kind}/${e.involvedObject?.name}: ${e.reason}: ${e.message}`,
      );
  } catch (err) {
    lines.push(`(could not describe: ${String(err)})`);
  }
  return lines.join('\n');
}
