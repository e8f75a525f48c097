// `pulumi up` of the local stack onto the test cluster, as far as the cluster can tell: the objects
// the program declares (collect-objects.ts), applied server-side in dependency order, the
// StatefulSets awaited before the platform (infra/index.ts makes the Platform depend on the data
// stores, and Pulumi awaits their rollout), then the Deployments. Around it: storage for the
// claims (persistent-volumes.ts), the process kubelet with two nodes (amd64, arm64) running
// images materialized from our Dockerfiles and the program's bake plans, and cluster DNS.
import type { KubeConfig } from '@kubernetes/client-node';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ourDockerfile } from '../../cluster/images/our-images.ts';
import { imageStarter } from '../../cluster/kubelet/image-starter.ts';
import {
  startProcessKubelet,
  type KubeletServing,
  type ProcessKubelet,
} from '../../cluster/kubelet/index.ts';
import { startClusterDns, type ClusterDns } from '../../cluster/support/cluster-dns.ts';
import { createApplier, inApplyOrder, objectPath, type Applied, type Applier } from './apply.ts';
import { bakedImageMaterializer } from './baked-images.ts';
import { waitForRollout } from './cluster-state.ts';
import {
  collectDevStack,
  withoutDigest,
  type CollectedStack,
  type K8sObject,
} from './collect-objects.ts';
import { volumesForClaims, type PlannedVolume } from './persistent-volumes.ts';
import { testRegistry, type ScalingOverrides } from './test-registry.ts';

const REPO = new URL('../../../', import.meta.url).pathname;

export interface DeployedPlatform {
  namespace: string;
  stack: CollectedStack;
  /** Servers made to start asleep because their image cannot be had on this machine. */
  unavailable: Unavailable[];
  applied: Applied[];
  volumes: PlannedVolume[];
  kubelet: ProcessKubelet;
  dns: ClusterDns;
  applier: Applier;
  /** Seconds per phase, for the record. */
  timings: Record<string, number>;
  /** The collected object of `kind` named `name`. */
  object(kind: string, name: string): K8sObject;
  /** Stops the kubelet, deletes the namespace and the PVs; keepLogs leaves the container logs. */
  teardown(options?: { keepLogs?: boolean }): Promise<void>;
}

export interface Unavailable {
  slug: string;
  image: string;
  reason: string;
}

interface WorkloadSpec {
  replicas?: number;
  template?: {
    spec?: { containers?: { image?: string }[]; initContainers?: { image?: string }[] };
  };
}

/** The images of every pod that runs from the start, plus `extra` (what the test will wake). */
function imagesToWarm(objects: readonly K8sObject[], extra: string[]): string[] {
  const images = new Set<string>();
  for (const o of objects) {
    if (o.kind !== 'Deployment' && o.kind !== 'StatefulSet') continue;
    const spec = o.spec as WorkloadSpec;
    if ((spec.replicas ?? 1) === 0) continue;
    const pod = spec.template?.spec ?? {};
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])])
      if (c.image) images.add(c.image);
  }
  for (const image of extra) images.add(image);
  return [...images];
}

/** Materializes the images ahead, one at a time; the first that fails, with its error. */
async function warmImages(
  stack: CollectedStack,
  materialize: (ref: string) => Promise<unknown>,
  warm: (image: string) => boolean,
): Promise<{ image: string; error: unknown } | undefined> {
  const extra = stack.bakes.map((b) => b.image).filter(warm);
  for (const image of imagesToWarm(stack.objects, extra)) {
    try {
      await materialize(image);
    } catch (error) {
      return { image, error };
    }
  }
  return undefined;
}

/** The slug of the server whose own (third-party) image `image` is, if it is one. */
function thirdPartyServerImage(stack: CollectedStack, image: string): string | undefined {
  if (stack.bakes.some((b) => b.image === withoutDigest(image)) || ourDockerfile(REPO, image))
    return undefined;
  const server = stack.objects.find(
    (o) =>
      o.kind === 'Deployment' &&
      (o.spec as WorkloadSpec).template?.spec?.containers?.some((c) => c.image === image),
  );
  return server?.metadata.labels?.['mcpfleet.dev/server'];
}

export async function deployPlatform(options: {
  kubeConfig: KubeConfig;
  /** The kubelet API's certificates (ControlPlane.kubeletServing()): `kubectl logs` works. */
  kubeletServing?: KubeletServing;
  namespace: string;
  /** Scaling settings of the test registry, by slug. */
  scaling: ScalingOverrides;
  /** Images to materialize ahead (a server the test wakes): a predicate over the bake images. */
  warm: (image: string) => boolean;
  nodes: { amd64: string; arm64: string };
  log?: (message: string) => void;
}): Promise<DeployedPlatform> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[platform] ${m}\n`));
  const { namespace } = options;
  const timings: Record<string, number> = {};
  const timed = async <T>(phase: string, run: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await run();
    } finally {
      timings[phase] = Number(((Date.now() - started) / 1000).toFixed(1));
      log(`${phase}: ${timings[phase]} s`);
    }
  };
  // Run last-registered first; `logs` is the folder a failed run keeps.
  const cleanups: { run: () => Promise<void> | void; logs?: boolean }[] = [];
  const teardown = async ({ keepLogs = false } = {}) => {
    for (const cleanup of cleanups.reverse())
      if (!(keepLogs && cleanup.logs)) await Promise.resolve(cleanup.run()).catch(() => {});
    cleanups.length = 0;
  };
  const onCleanup = (run: () => Promise<void> | void, logs = false) => cleanups.push({ run, logs });
  try {
    const overrides: ScalingOverrides = structuredClone(options.scaling);
    const unavailable: Unavailable[] = [];
    let stack: CollectedStack;
    for (;;) {
      const registry = testRegistry(overrides);
      onCleanup(() => registry.remove());
      stack = await timed('collect', () =>
        collectDevStack({ namespace, registryDir: registry.dir }),
      );
      const materialize = bakedImageMaterializer(stack.bakes);
      const failed = await timed('images', () => warmImages(stack, materialize, options.warm));
      if (!failed) break;
      // A third-party server image this machine cannot have (e.g. a Go module the proxy refuses):
      // that server starts asleep here, and the test reports it. Our own images must build.
      const slug = thirdPartyServerImage(stack, failed.image);
      if (!slug || overrides[slug]?.minReplicas === 0) throw failed.error;
      const reason = String((failed.error as Error).message)
        .split('\n')
        .slice(0, 3)
        .join(' ');
      unavailable.push({ slug, image: failed.image, reason });
      log(`${failed.image} cannot be materialized here; ${slug} starts asleep: ${reason}`);
      overrides[slug] = { ...overrides[slug], minReplicas: 0 };
    }

    const applier = await createApplier(options.kubeConfig);
    onCleanup(() => applier.close());
    const dns = await startClusterDns({ kubeConfig: options.kubeConfig });
    onCleanup(() => dns.close());
    const rootDir = mkdtempSync(join(tmpdir(), `mcpfleet-e2e-${namespace}-`));
    chmodSync(rootDir, 0o755);
    onCleanup(() => rmSync(rootDir, { recursive: true, force: true }), true);
    const kubelet = await timed('kubelet', () =>
      startProcessKubelet({
        kubeConfig: options.kubeConfig,
        nodes: [
          { name: `${namespace}-amd64`, arch: 'amd64', podCIDR: options.nodes.amd64 },
          { name: `${namespace}-arm64`, arch: 'arm64', podCIDR: options.nodes.arm64 },
        ],
        images: imageStarter({ materialize: bakedImageMaterializer(stack.bakes) }),
        backoff: { initialMs: 500, maxMs: 5_000 },
        rootDir: join(rootDir, 'kubelet'),
        ...(options.kubeletServing ? { serving: options.kubeletServing } : {}),
      }),
    );
    const volumes = volumesForClaims(stack.objects, namespace, join(rootDir, 'volumes'));
    onCleanup(async () => {
      for (const v of volumes) await applier.request('DELETE', objectPath(v.pv)).catch(() => {});
    });
    onCleanup(async () => {
      await kubelet.stop({ deletePods: true });
      await applier.request('DELETE', `/api/v1/namespaces/${namespace}`).catch(() => {});
    });
    const ordered = inApplyOrder([...volumes.map((v) => v.pv), ...stack.objects]);
    const applied: Applied[] = [];
    const apply = async (objects: K8sObject[]) => {
      for (const object of objects) applied.push(await applier.apply(object));
    };
    await timed('apply + data stores', async () => {
      await apply(ordered.filter((o) => o.kind !== 'Deployment'));
      for (const set of ordered.filter((o) => o.kind === 'StatefulSet'))
        await waitForRollout(applier, set, 180_000, kubelet);
    });
    await timed('deployments', async () => {
      const deployments = ordered.filter((o) => o.kind === 'Deployment');
      await apply(deployments);
      for (const deployment of deployments)
        await waitForRollout(applier, deployment, 180_000, kubelet);
    });

    return {
      namespace,
      stack,
      unavailable,
      applied,
      volumes,
      kubelet,
      dns,
      applier,
      timings,
      object(kind, name) {
        const found = stack.objects.find((o) => o.kind === kind && o.metadata.name === name);
        if (!found) throw new Error(`the stack declares no ${kind} ${name}`);
        return found;
      },
      teardown,
    };
  } catch (error) {
    await teardown({ keepLogs: true });
    throw error;
  }
}
