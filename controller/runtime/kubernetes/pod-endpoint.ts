// What the gateway needs from a server pod: its MCP URL and whether it can take traffic.
// The pod describes itself (the Deployment's builder puts both on the pod template): the
// container port named "mcp" and the annotation mcpfleet.dev/path, so the controller never
// re-derives the manifest.
import type { V1Pod } from '@kubernetes/client-node';

export const PATH_ANNOTATION = 'mcpfleet.dev/path';
const MCP_PORT_NAME = 'mcp';

export interface PodEndpoint {
  name: string;
  uid: string;
  url: string;
  /** Sum of container restarts: a change means the process behind the URL was replaced. */
  restarts: number;
  /** kubelet's Ready condition (the controller's own probe may route before it). */
  kubeletReady: boolean;
}

/** The endpoint of a pod that is running and has an address; undefined otherwise. */
export function podEndpoint(pod: V1Pod): PodEndpoint | undefined {
  if (pod.metadata?.deletionTimestamp) return undefined;
  if (pod.status?.phase !== 'Running' || !pod.status.podIP) return undefined;
  const started = (pod.status.containerStatuses ?? []).every((c) => c.state?.running);
  if (!started) return undefined;
  let port: number | undefined;
  for (const container of pod.spec?.containers ?? []) {
    const found = container.ports?.find((p) => p.name === MCP_PORT_NAME);
    if (found) port = found.containerPort;
  }
  if (port === undefined) return undefined;
  const path = pod.metadata?.annotations?.[PATH_ANNOTATION] ?? '/mcp';
  const host = pod.status.podIP.includes(':') ? `[${pod.status.podIP}]` : pod.status.podIP;
  return {
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    url: `http://${host}:${port}${path}`,
    restarts: (pod.status.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0),
    kubeletReady: (pod.status.conditions ?? []).some(
      (c) => c.type === 'Ready' && c.status === 'True',
    ),
  };
}
