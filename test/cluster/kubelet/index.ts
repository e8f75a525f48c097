// The process kubelet: registers Nodes on a real control plane and runs the pods bound to them
// as local processes — one network namespace per pod on the test pod bridge, volumes as files,
// containers started by a ContainerStarter (image layouts, or host commands), probes, restarts,
// kubelet-shaped pod status and graceful deletion. See README.md in this folder for the scope.
import type { KubeConfig } from '@kubernetes/client-node';
import type { IPod } from 'kubernetes-models/v1/Pod';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KUBELET_BACKOFF, type BackoffSettings } from './backoff.ts';
import type { ContainerStarter, ImageConfig } from './container-starter.ts';
import { masterServiceEnv } from './env.ts';
import { createEventRecorder, type EventRecorder } from './events.ts';
import { createIpAllocator, type IpAllocator } from './ipam.ts';
import { createKubeApi, isNotFound, type KubeApi } from './kube-api.ts';
import { toLogger, type Logger } from './logger.ts';
import { startNodeHeartbeats, type NodeHeartbeats, type NodeSpec } from './node-registration.ts';
import { watchConfigObjects, type WatchedObjectSource } from './object-source.ts';
import { checkBridge, sweepStaleSandboxes, type PodNetworkConfig } from './pod-sandbox.ts';
import { startKubeletServer, type KubeletServing } from './kubelet-server.ts';
import { isTerminalPhase } from './pod-status.ts';
import { PodWorker, type PodInfo } from './pod-worker.ts';
import { startReflector, type Reflector } from './reflector.ts';

export type {
  ContainerStarter,
  ImageConfig,
  ContainerProcessSpec,
  Mount,
} from './container-starter.ts';
export { hostStarter } from './container-starter.ts';
export type { NodeSpec } from './node-registration.ts';
export type { PodInfo, ContainerInfo } from './pod-worker.ts';
export type { Logger } from './logger.ts';
export type { BackoffSettings } from './backoff.ts';
export type { KubeletServing } from './kubelet-server.ts';

export interface ProcessKubeletOptions {
  /** Admin credentials (the kubelet creates Nodes, Leases, TokenRequests, deletes pods). */
  kubeConfig: KubeConfig;
  nodes: NodeSpec[];
  /** Starts the containers: imageStarter() for image layouts, hostStarter() for host commands. */
  images: ContainerStarter;
  logger?: Partial<Logger>;
  /** Pod network; defaults to the control plane's bridge mcpfleet0, 10.244.0.1/16. */
  network?: Partial<PodNetworkConfig>;
  /** CrashLoopBackOff (kubelet: 10 s doubling to 5 min). Tests pass e.g. { initialMs: 200, maxMs: 2000 }. */
  backoff?: Partial<BackoffSettings>;
  /** Multiplies probe periods, delays and timeouts (1 = seconds as written). */
  probeTimeScale?: number;
  /** Where pod volumes live (default: a fresh folder under the OS temp dir). */
  rootDir?: string;
  /**
   * Container logs: <logsDir>/<ns>_<pod>_<uid>/<container>/<restartCount>.log, the raw output,
   * and .cri next to it, the CRI log the kubelet API serves (default <rootDir>/logs).
   */
  logsDir?: string;
  /**
   * The nameserver in pods' /etc/resolv.conf (dnsPolicy ClusterFirst). Default: the bridge
   * address, where nothing answers, so lookups fail fast (there is no cluster DNS).
   */
  dnsServer?: string;
  /**
   * Serve the kubelet API (`kubectl logs`) on the node address with this certificate, trusting
   * callers whose client certificates this CA signed: ControlPlane.kubeletServing(). Without it
   * there is no kubelet API (the nodes still report port 10250).
   */
  serving?: KubeletServing;
  /** Grace period cap for the pods still running at stop() (default 2 s). */
  stopGraceMs?: number;
  leaseRenewMs?: number;
  nodeStatusUpdateMs?: number;
  kubeletVersion?: string;
}

export interface ProcessKubelet {
  readonly nodeNames: string[];
  readonly rootDir: string;
  readonly logsDir: string;
  /** The pods this kubelet runs now. */
  pods(): PodInfo[];
  pod(namespace: string, name: string): PodInfo | undefined;
  /**
   * Kills every pod's containers (grace capped by stopGraceMs), removes their sandboxes and
   * volumes, stops the heartbeats and deletes its Nodes, so the scheduler stops placing pods on
   * them (PodGC later removes pods still bound to them). deletePods: delete this kubelet's pods
   * too (grace 0, after their containers are gone). keepNodes: leave the Nodes (and the pods'
   * API state) as a crashed kubelet would — a later kubelet with the same node names adopts and
   * restarts those pods.
   */
  stop(options?: { deletePods?: boolean; keepNodes?: boolean }): Promise<void>;
}

const DEFAULT_NETWORK: PodNetworkConfig = {
  bridge: 'mcpfleet0',
  gateway: '10.244.0.1',
  prefixLength: 16,
};

export async function startProcessKubelet(options: ProcessKubeletOptions): Promise<ProcessKubelet> {
  const logger = toLogger(options.logger);
  const network: PodNetworkConfig = { ...DEFAULT_NETWORK, ...options.network };
  const backoff: BackoffSettings = { ...KUBELET_BACKOFF, ...options.backoff };
  if (!options.nodes.length) throw new Error('kubelet: no nodes');
  await checkBridge(network);
  await sweepStaleSandboxes(logger);

  if (!options.rootDir) await pruneOldRuns();
  const rootDir = options.rootDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), RUN_PREFIX)));
  await fs.mkdir(rootDir, { recursive: true });
  await fs.chmod(rootDir, 0o755);
  const podsDir = path.join(rootDir, 'pods');
  await fs.mkdir(podsDir, { recursive: true, mode: 0o755 });
  const logsDir = options.logsDir ?? path.join(rootDir, 'logs');
  await fs.mkdir(logsDir, { recursive: true });

  const api: KubeApi = await createKubeApi(options.kubeConfig);
  const server = new URL(api.server);
  const serviceEnv = masterServiceEnv(server.hostname, Number(server.port || 443));
  const allocators = new Map<string, IpAllocator>();
  const recorders = new Map<string, EventRecorder>();
  for (const node of options.nodes) {
    allocators.set(node.name, createIpAllocator(node.podCIDR));
    recorders.set(node.name, createEventRecorder(api, node.name));
  }

  const workers = new Map<string, PodWorker>();
  const findWorker = (namespace: string, name: string) =>
    [...workers.values()].find((w) => w.namespace === namespace && w.name === name);
  const kubeletApi = options.serving
    ? await startKubeletServer({
        api,
        serving: options.serving,
        host: network.gateway,
        nodeNames: options.nodes.map((node) => node.name),
        logger,
        pod(namespace, name) {
          const worker = findWorker(namespace, name);
          if (!worker) return undefined;
          const info = worker.info();
          return {
            nodeName: info.nodeName,
            containers: info.containers.map((c) => c.name),
            logSource: (container) => worker.logSource(container),
          };
        },
      })
    : undefined;

  const heartbeats: NodeHeartbeats = await startNodeHeartbeats({
    api,
    nodes: options.nodes,
    hostIP: network.gateway,
    kubeletVersion: options.kubeletVersion ?? (await apiserverVersion(api)),
    logger,
    leaseRenewMs: options.leaseRenewMs,
    statusUpdateMs: options.nodeStatusUpdateMs,
    kubeletPort: kubeletApi?.port,
  });

  const images = new Map<string, Promise<ImageConfig>>();
  const resolveImage = (ref: string, arch: string): Promise<ImageConfig> => {
    const key = `${arch} ${ref}`;
    let image = images.get(key);
    if (!image) {
      image = options.images.resolveImage(ref, arch);
      images.set(key, image);
      image.catch(() => images.delete(key));
    }
    return image;
  };

  let stopping = false;
  const source: WatchedObjectSource = watchConfigObjects(api, logger, (kind, namespace, name) => {
    for (const worker of workers.values()) {
      if (worker.namespace === namespace) worker.objectChanged(kind, name);
    }
  });
  await source.synced;

  const onPod =
    (node: NodeSpec) =>
    (type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: IPod): void => {
      const uid = pod.metadata?.uid;
      if (!uid || stopping) return;
      const worker = workers.get(uid);
      if (type === 'DELETED') {
        if (worker) void worker.terminate(worker.graceMs(), false).then(() => worker.dispose());
        return;
      }
      if (worker) {
        worker.update(pod);
        return;
      }
      if (pod.metadata?.deletionTimestamp) {
        // Being deleted and nothing runs here (e.g. after a kubelet restart): finish the deletion.
        void api
          .request(
            'DELETE',
            `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`,
            {
              body: {
                apiVersion: 'v1',
                kind: 'DeleteOptions',
                gracePeriodSeconds: 0,
                preconditions: { uid },
              },
            },
          )
          .catch((err: unknown) => {
            if (!isNotFound(err))
              logger.debug(`final delete of ${pod.metadata?.name}: ${String(err)}`);
          });
        return;
      }
      if (isTerminalPhase(pod.status?.phase)) return;
      const created = new PodWorker(pod, {
        api,
        source,
        starter: options.images,
        logger,
        node,
        allocator: allocators.get(node.name)!,
        allocatable: {
          cpu: node.capacity?.cpu ?? '8',
          memory: node.capacity?.memory ?? '16Gi',
          'ephemeral-storage': '100Gi',
        },
        network,
        hostIP: network.gateway,
        serviceEnv,
        dnsServer: options.dnsServer ?? network.gateway,
        podsDir,
        logsDir,
        backoff,
        probeTimeScale: options.probeTimeScale ?? 1,
        resolveImage,
        events: recorders.get(node.name)!,
        onFinished: (finished) => workers.delete(finished),
      });
      workers.set(uid, created);
      logger.info(`pod ${pod.metadata?.namespace}/${pod.metadata?.name} admitted on ${node.name}`);
      created.start();
    };

  const podReflectors: Reflector<IPod>[] = options.nodes.map((node) =>
    startReflector<IPod>({
      api,
      path: '/api/v1/pods',
      query: { fieldSelector: `spec.nodeName=${node.name}` },
      logger,
      onChange: onPod(node),
    }),
  );
  await Promise.all(podReflectors.map((reflector) => reflector.synced));

  return {
    nodeNames: options.nodes.map((node) => node.name),
    rootDir,
    logsDir,
    pods: () => [...workers.values()].map((worker) => worker.info()),
    pod: (namespace, name) => findWorker(namespace, name)?.info(),
    async stop(stopOptions = {}) {
      if (stopping) return;
      stopping = true;
      for (const reflector of podReflectors) reflector.stop();
      source.stop();
      const cap = options.stopGraceMs ?? 2_000;
      await Promise.all(
        [...workers.values()].map(async (worker) => {
          const deletePods = Boolean(stopOptions.deletePods);
          await worker.terminate(Math.min(worker.graceMs(), cap), deletePods, deletePods);
          await worker.dispose();
        }),
      );
      await heartbeats.stop(!stopOptions.keepNodes);
      await kubeletApi?.close();
      await api.close();
      await fs.rm(podsDir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

const RUN_PREFIX = 'mcpfleet-kubelet-';

/** Earlier runs keep their logs (for failures); after a day they go. */
async function pruneOldRuns(): Promise<void> {
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  for (const entry of await fs.readdir(os.tmpdir()).catch(() => [] as string[])) {
    if (!entry.startsWith(RUN_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), entry);
    const stat = await fs.stat(dir).catch(() => undefined);
    if (stat?.isDirectory() && stat.mtimeMs < dayAgo) {
      await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

async function apiserverVersion(api: KubeApi): Promise<string> {
  try {
    const version = await api.request<{ gitVersion?: string }>('GET', '/version');
    return version.gitVersion ?? 'v0.0.0';
  } catch {
    return 'v0.0.0';
  }
}
