// The setting every runtime test needs, built once: the shared control plane, a process kubelet
// with its own nodes, a namespace of the test's own holding the `everything` server's Deployment
// at 0 replicas, and a kubeconfig file for controllers. stop() leaves nothing running (the
// namespace goes while the kubelet still ends its pods); dump() explains a failure.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { silentLogger } from '../../../controller/observability/log.ts';
import {
  startController,
  type RunningController,
  type StartOptions,
} from '../../../controller/start.ts';
import { loadRegistry } from '../../../registry/catalog/index.ts';
import type { ServerSpec } from '../../../registry/catalog/spec.ts';
import { workloadName } from '../../../registry/catalog/workload-names.ts';
import type { ControlPlane } from '../control-plane/control-plane.ts';
import { hostStarter, startProcessKubelet, type ProcessKubelet } from '../kubelet/index.ts';
import { deleteNamespaceAndWait } from '../support/namespaces.ts';
import { sharedControlPlane } from '../support/shared-control-plane.ts';
import { serverDeployment, type ServerDeploymentOptions } from './server-deployment.ts';

const REPO = new URL('../../../', import.meta.url).pathname;

export interface ScenarioOptions {
  /** Namespace prefix; also names the nodes. */
  name: string;
  /** One node per entry: its architecture and pod CIDR (unique per test file). */
  nodes: { arch: 'amd64' | 'arm64'; podCIDR: string }[];
  /** Changes to the registry's `everything` spec (scaling, …). */
  spec?: (spec: ServerSpec) => ServerSpec;
  deployment?: ServerDeploymentOptions;
}

export interface Scenario {
  plane: ControlPlane;
  kubeConfig: KubeConfig;
  namespace: string;
  kubelet: ProcessKubelet;
  kubeconfigPath: string;
  everything: ServerSpec;
  /**
   * A controller in this process on the kubernetes runtime, serving `everything` from this
   * namespace with in-memory store and coordination unless `options` say otherwise.
   */
  controller(podName: string, options?: Partial<StartOptions>): Promise<RunningController>;
  /** spec.replicas of the server's Deployment (its scale subresource). */
  replicas(): Promise<number>;
  dump(): Promise<void>;
  stop(): Promise<void>;
}

export async function startScenario(options: ScenarioOptions): Promise<Scenario> {
  const plane = await sharedControlPlane();
  const kubeConfig = plane.kubeConfig();
  const namespace = `${options.name}-${Date.now().toString(36)}`;
  const kubelet = await startProcessKubelet({
    kubeConfig,
    nodes: options.nodes.map((node) => ({ name: `${namespace}-${node.arch}`, ...node })),
    images: hostStarter(),
    logger: silentLogger(),
  });
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const base = (await loadRegistry(join(REPO, 'registry/servers'))).specs.find(
    (s) => s.slug === 'everything',
  )!;
  const everything = options.spec ? options.spec(base) : base;
  await kubeConfig.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace,
    body: serverDeployment(everything, namespace, options.deployment),
  });
  const kubeconfigPath = join(tmpdir(), `${namespace}.kubeconfig`);
  writeFileSync(kubeconfigPath, kubeConfig.exportConfig());
  return {
    plane,
    kubeConfig,
    namespace,
    kubelet,
    kubeconfigPath,
    everything,
    controller: (podName, extra = {}) =>
      startController({
        specs: [everything],
        runtime: 'kubernetes',
        kubernetes: { namespace, podName, kubeconfig: kubeconfigPath },
        host: '127.0.0.1',
        port: 0,
        dataDir: 'memory://',
        logger: silentLogger(),
        ...extra,
      }),
    replicas: async () =>
      (
        await kubeConfig
          .makeApiClient(AppsV1Api)
          .readNamespacedDeploymentScale({ name: workloadName(everything.slug), namespace })
      ).spec?.replicas ?? 0,
    dump: () => dumpCluster(kubeConfig, namespace, kubelet),
    stop: async () => {
      await deleteNamespaceAndWait(kubeConfig, namespace).catch((err: unknown) =>
        console.warn(String(err)),
      );
      await kubelet.stop({ deletePods: true });
    },
  };
}

/** What a failed test needs to be understood: the pods, nodes and events of its namespace. */
async function dumpCluster(kubeConfig: KubeConfig, namespace: string, kubelet: ProcessKubelet) {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const pods = await core.listNamespacedPod({ namespace });
  const nodes = await core.listNode();
  const events = await core.listNamespacedEvent({ namespace });
  console.error(
    JSON.stringify(
      {
        pods: pods.items.map((p) => ({
          name: p.metadata?.name,
          node: p.spec?.nodeName,
          phase: p.status?.phase,
          podIP: p.status?.podIP,
          conditions: p.status?.conditions?.map((c) => `${c.type}=${c.status}`),
          containers: p.status?.containerStatuses?.map((c) => ({
            state: c.state,
            restarts: c.restartCount,
          })),
        })),
        nodes: nodes.items.map((n) => ({
          name: n.metadata?.name,
          taints: n.spec?.taints,
          ready: n.status?.conditions?.find((c) => c.type === 'Ready')?.status,
        })),
        events: events.items.map((e) => `${e.involvedObject?.name}: ${e.reason}: ${e.message}`),
        kubeletLogs: kubelet.logsDir,
      },
      null,
      1,
    ),
  );
}
