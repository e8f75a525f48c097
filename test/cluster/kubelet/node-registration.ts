// Node registration and heartbeats: create (or adopt) the Node object, then keep it Ready the
// way a kubelet does — renew its Lease in kube-node-lease and patch the node status periodically,
// so the node-lifecycle controller neither taints it not-ready/unreachable nor evicts its pods.
import type { INode } from 'kubernetes-models/v1/Node';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import {
  isConflict,
  isNotFound,
  STRATEGIC_MERGE_PATCH,
  MERGE_PATCH,
  type KubeApi,
} from './kube-api.ts';
import type { Logger } from './logger.ts';

export interface NodeSpec {
  name: string;
  arch: 'amd64' | 'arm64';
  /** e.g. 10.244.1.0/24; pod IPs of this node come from here. */
  podCIDR: string;
  /** Capacity; allocatable is the same. Defaults: 8 CPUs, 16Gi, 110 pods. */
  capacity?: { cpu?: string; memory?: string; pods?: string };
  labels?: Record<string, string>;
}

export interface NodeHeartbeatOptions {
  api: KubeApi;
  nodes: NodeSpec[];
  hostIP: string;
  kubeletVersion: string;
  logger: Logger;
  /** Lease renewal period (kubelet: 10 s; lease duration 40 s). */
  leaseRenewMs?: number;
  /** Node status patch period (kubelet: nodeStatusUpdateFrequency 10 s). */
  statusUpdateMs?: number;
  /** status.daemonEndpoints.kubeletEndpoint.Port: where the kubelet API listens (10250). */
  kubeletPort?: number;
}

export interface NodeHeartbeats {
  /** Stops the heartbeats; with deleteNodes also deletes the Node objects (their Leases follow). */
  stop(deleteNodes?: boolean): Promise<void>;
}

const LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_DURATION_SECONDS = 40;

const microTime = (date = new Date()): string => date.toISOString().replace(/Z$/, '000Z');
const time = (date = new Date()): string => date.toISOString().replace(/\.\d+Z$/, 'Z');

function nodeLabels(node: NodeSpec): Record<string, string> {
  return {
    'kubernetes.io/arch': node.arch,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/hostname': node.name,
    'beta.kubernetes.io/arch': node.arch,
    'beta.kubernetes.io/os': 'linux',
    ...node.labels,
  };
}

function resources(node: NodeSpec): Record<string, string> {
  return {
    cpu: node.capacity?.cpu ?? '8',
    memory: node.capacity?.memory ?? '16Gi',
    pods: node.capacity?.pods ?? '110',
    'ephemeral-storage': '100Gi',
  };
}

const bootID = randomUUID();

function nodeStatus(
  node: NodeSpec,
  options: NodeHeartbeatOptions,
  transitionTime: string,
): NonNullable<INode['status']> {
  const now = time();
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: transitionTime,
  });
  return {
    capacity: resources(node),
    allocatable: resources(node),
    conditions: [
      condition(
        'MemoryPressure',
        'False',
        'KubeletHasSufficientMemory',
        'kubelet has sufficient memory available',
      ),
      condition(
        'DiskPressure',
        'False',
        'KubeletHasNoDiskPressure',
        'kubelet has no disk pressure',
      ),
      condition(
        'PIDPressure',
        'False',
        'KubeletHasSufficientPID',
        'kubelet has sufficient PID available',
      ),
      condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: options.hostIP },
      { type: 'Hostname', address: node.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: options.kubeletPort ?? 10250 } },
    nodeInfo: {
      architecture: node.arch,
      operatingSystem: 'linux',
      kernelVersion: os.release(),
      osImage: 'mcpfleet process kubelet',
      containerRuntimeVersion: 'mcpfleet://0.1.0',
      kubeletVersion: options.kubeletVersion,
      kubeProxyVersion: '',
      machineID: node.name,
      systemUUID: node.name,
      bootID,
    },
  };
}

async function registerNode(
  node: NodeSpec,
  options: NodeHeartbeatOptions,
  transitionTime: string,
): Promise<string> {
  const { api } = options;
  const body: INode = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, labels: nodeLabels(node) },
    spec: { podCIDR: node.podCIDR, podCIDRs: [node.podCIDR] },
    status: nodeStatus(node, options, transitionTime),
  };
  try {
    const created = await api.request<INode>('POST', '/api/v1/nodes', { body });
    return created.metadata?.uid ?? '';
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  // Already registered (an earlier run, or a restart): adopt it like kubelet's
  // tryRegisterWithAPIServer does — reconcile labels, keep the existing podCIDR, drop our taints.
  const existing = await api.request<INode>('GET', `/api/v1/nodes/${node.name}`);
  const existingCIDR = existing.spec?.podCIDR;
  if (existingCIDR && existingCIDR !== node.podCIDR) {
    throw new Error(
      `kubelet: node ${node.name} already exists with podCIDR ${existingCIDR}, not ${node.podCIDR}; ` +
        `delete it (kubectl delete node ${node.name}) or use its CIDR`,
    );
  }
  const taints = (existing.spec?.taints ?? []).filter(
    (taint) => !taint.key.startsWith('node.kubernetes.io/'),
  );
  await api.request('PATCH', `/api/v1/nodes/${node.name}`, {
    contentType: MERGE_PATCH,
    body: {
      metadata: { labels: nodeLabels(node) },
      spec: {
        unschedulable: null,
        taints,
        ...(existingCIDR ? {} : { podCIDR: node.podCIDR, podCIDRs: [node.podCIDR] }),
      },
    },
  });
  await patchStatus(node, options, transitionTime);
  return existing.metadata?.uid ?? '';
}

async function patchStatus(
  node: NodeSpec,
  options: NodeHeartbeatOptions,
  transitionTime: string,
): Promise<void> {
  await options.api.request('PATCH', `/api/v1/nodes/${node.name}/status`, {
    contentType: STRATEGIC_MERGE_PATCH,
    body: { status: nodeStatus(node, options, transitionTime) },
  });
}

async function ensureLeaseNamespace(api: KubeApi): Promise<void> {
  try {
    await api.request('GET', `/api/v1/namespaces/${LEASE_NAMESPACE}`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    // The apiserver's system-namespaces controller creates it soon after start; don't wait for it.
    await api
      .request('POST', '/api/v1/namespaces', {
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: LEASE_NAMESPACE } },
      })
      .catch((error: unknown) => {
        if (!isConflict(error)) throw error;
      });
  }
}

async function renewLease(api: KubeApi, node: NodeSpec, nodeUID: string): Promise<void> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases/${node.name}`;
  const spec = {
    holderIdentity: node.name,
    leaseDurationSeconds: LEASE_DURATION_SECONDS,
    renewTime: microTime(),
  };
  try {
    await api.request('PATCH', path, { contentType: MERGE_PATCH, body: { spec } });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await api.request('POST', `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases`, {
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: node.name,
          namespace: LEASE_NAMESPACE,
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.name, uid: nodeUID }],
        },
        spec,
      },
    });
  }
}

/**
 * The TaintNodesByCondition admission plugin taints every new Node not-ready:NoSchedule; the
 * node-lifecycle controller lifts it once it sees Ready=True. Waiting for that makes pods created
 * right after start schedulable at once (instead of after the scheduler's back-off).
 */
async function waitUntilSchedulable(
  api: KubeApi,
  nodes: NodeSpec[],
  logger: Logger,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const node of nodes) {
    for (;;) {
      const current = await api.request<INode>('GET', `/api/v1/nodes/${node.name}`);
      const tainted = (current.spec?.taints ?? []).some((t) =>
        t.key.startsWith('node.kubernetes.io/'),
      );
      if (!tainted) break;
      if (Date.now() > deadline) {
        logger.warn(`node ${node.name} is still tainted: ${JSON.stringify(current.spec?.taints)}`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Registers every node (resolves once they exist, Ready) and keeps them Ready until stop(). */
export async function startNodeHeartbeats(options: NodeHeartbeatOptions): Promise<NodeHeartbeats> {
  const { api, nodes, logger } = options;
  const transitionTime = time();
  const uids = new Map<string, string>();
  await ensureLeaseNamespace(api);
  for (const node of nodes) {
    uids.set(node.name, await registerNode(node, options, transitionTime));
    await renewLease(api, node, uids.get(node.name) ?? '');
    logger.info(`registered node ${node.name} (${node.arch}, ${node.podCIDR})`);
  }

  await waitUntilSchedulable(api, nodes, logger);

  const timers: NodeJS.Timeout[] = [];
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  const every = (ms: number, task: (node: NodeSpec) => Promise<void>, what: string): void => {
    const timer = setInterval(() => {
      for (const node of nodes) {
        const run = task(node)
          .catch((err: unknown) => {
            if (!stopped) logger.warn(`node ${node.name}: ${what} failed: ${String(err)}`);
          })
          .finally(() => inFlight.delete(run));
        inFlight.add(run);
      }
    }, ms);
    timer.unref();
    timers.push(timer);
  };
  every(
    options.leaseRenewMs ?? 10_000,
    (node) => renewLease(api, node, uids.get(node.name) ?? ''),
    'lease renewal',
  );
  every(
    options.statusUpdateMs ?? 10_000,
    (node) => patchStatus(node, options, transitionTime),
    'status update',
  );

  return {
    async stop(deleteNodes = false) {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      await Promise.allSettled([...inFlight]);
      if (!deleteNodes) return;
      for (const node of nodes) {
        await api.request('DELETE', `/api/v1/nodes/${node.name}`).catch((err: unknown) => {
          if (!isNotFound(err)) logger.warn(`node ${node.name}: delete failed: ${String(err)}`);
        });
        await api
          .request(
            'DELETE',
            `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases/${node.name}`,
          )
          .catch(() => undefined);
      }
    },
  };
}
