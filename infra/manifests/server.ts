// The Kubernetes objects one registry server compiles to: Deployment + Service + a default-deny
// NetworkPolicy. Pure (plain objects in, plain objects out), so the Pulumi `Server` component and
// `mcpfleet registry render` share one code path and tests can validate every field.
import { posix } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import {
  STORAGE_MOUNT_PATH,
  type EgressRule,
  type WorkloadSpec,
} from '../../registry/catalog/spec.ts';
import type { ImagesConfig } from '../config.ts';
import { planArtifact, runnerImage, type ArtifactPlan } from './artifacts.ts';
import {
  BUNDLE_APP_DIR,
  BUNDLE_DIR,
  BUNDLE_LAUNCHER,
  bundleFetchCommand,
  bundleFetchEnv,
} from './bundle.ts';
import { egressRules } from './egress.ts';
import {
  controllerSelectorLabels,
  serverLabels,
  serverSelectorLabels,
  serverStableLabels,
  workloadName,
} from '../../registry/catalog/workload-names.ts';
import {
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  TMP_MOUNT,
  TMP_VOLUME,
} from './security.ts';

/** Where the stdio bridge listens in a pod; stdio servers are reached through it. */
export const BRIDGE_PORT = 8080;
/** The MCP endpoint path the bridge serves. */
export const BRIDGE_PATH = '/mcp';
/**
 * Where a stdio OCI server's image is mounted (an image volume) in the runner pod that bridges
 * it: the bridge runs from the runner image and starts the server's entrypoint from here.
 */
export const SERVER_IMAGE_DIR = '/srv/image';

/** pulumi-kubernetes' documented switch for its readiness await. */
export const SKIP_AWAIT = 'pulumi.com/skipAwait';

export interface ServerManifestOptions {
  namespace: string;
  images: ImagesConfig;
}

export interface ServerManifests {
  deployment: IDeployment;
  service: IService;
  networkPolicy: INetworkPolicy;
  /** The server's persistent volume, when its spec has `storage`. */
  persistentVolumeClaim?: IPersistentVolumeClaim;
}

/** The claim of a server with storage: `<workload>-data`. */
export function storageClaimName(slug: string): string {
  return `${workloadName(slug)}-data`;
}

export function serverPort(spec: WorkloadSpec): { port: number; path: string } {
  return spec.transport.type === 'stdio'
    ? { port: BRIDGE_PORT, path: BRIDGE_PATH }
    : { port: spec.transport.port, path: spec.transport.path };
}

export function serverManifests(
  spec: WorkloadSpec,
  options: ServerManifestOptions,
): ServerManifests {
  const plan = planArtifact(spec, options.images);
  const name = workloadName(spec.slug);
  const labels = serverLabels(spec.slug, spec.version);
  const { port, path } = serverPort(spec);
  const metadata = { name, namespace: options.namespace, labels };
  const annotations = {
    'mcpfleet.dev/server-name': spec.name,
    'mcpfleet.dev/source': spec.source,
    'mcpfleet.dev/transport': spec.transport.type,
    'mcpfleet.dev/path': path,
  };

  const initContainers: IContainer[] = [];
  const volumes: IVolume[] = [TMP_VOLUME];
  const main = serverContainer(spec, plan, options.images, port);
  if (plan.type === 'mcpb') {
    volumes.push({ name: 'bundle', emptyDir: { sizeLimit: '1Gi' } });
    initContainers.push({
      name: 'fetch-bundle',
      image: plan.image,
      command: bundleFetchCommand(),
      env: bundleFetchEnv(plan.bundles),
      volumeMounts: [{ name: 'bundle', mountPath: BUNDLE_DIR }, TMP_MOUNT],
      resources: {
        requests: { cpu: '50m', memory: '128Mi' },
        limits: { cpu: '500m', memory: '768Mi' },
      },
      securityContext: restrictedContainerSecurityContext(),
    });
    main.volumeMounts!.push({ name: 'bundle', mountPath: BUNDLE_DIR, readOnly: true });
    main.workingDir = BUNDLE_APP_DIR;
  }
  if (plan.type === 'image' && spec.transport.type === 'stdio') {
    // The server image does not contain the bridge, and may not contain Node.js (or a libc):
    // the pod runs the node runner image, which has both, and mounts the server's image as a
    // read-only image volume (Kubernetes ≥ 1.35; kubelet pulls and caches it like any image).
    // Nothing is copied when the pod starts; the server's entrypoint runs from the volume.
    volumes.push({
      name: 'server-image',
      image: { reference: plan.image, pullPolicy: 'IfNotPresent' },
    });
    main.volumeMounts!.push({ name: 'server-image', mountPath: SERVER_IMAGE_DIR, readOnly: true });
  }

  const persistentVolumeClaim = storageClaim(spec, options.namespace);
  if (persistentVolumeClaim) {
    volumes.push({
      name: 'data',
      persistentVolumeClaim: { claimName: persistentVolumeClaim.metadata!.name! },
    });
    main.volumeMounts!.push({ name: 'data', mountPath: STORAGE_MOUNT_PATH });
  }

  const nodeSelector: Record<string, string> = { 'kubernetes.io/os': 'linux' };
  if (plan.nodeArch) nodeSelector['kubernetes.io/arch'] = plan.nodeArch;

  const deployment: IDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { ...metadata, annotations },
    spec: {
      // Only the initial value: the controller owns replicas afterwards (the Pulumi resource
      // ignores changes to spec.replicas). minReplicas 0 means the server starts asleep.
      replicas: spec.scaling.minReplicas,
      revisionHistoryLimit: 3,
      selector: { matchLabels: serverSelectorLabels(spec.slug) },
      // A ReadWriteOnce volume attaches to one node: a surge pod of a rolling update could
      // wait for it forever on another node, so a server with storage is replaced in place.
      strategy: persistentVolumeClaim
        ? { type: 'Recreate' }
        : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels, annotations },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: restrictedPodSecurityContext(),
          nodeSelector,
          terminationGracePeriodSeconds: 30,
          ...(initContainers.length > 0 ? { initContainers } : {}),
          containers: [main],
          volumes,
        },
      },
    },
  };

  const service: IService = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...metadata,
      annotations: {
        'mcpfleet.dev/path': path,
        // Pulumi awaits a Service until it targets a ready Pod (10 minutes, then the create or
        // update fails; every version bump updates the Service's labels); a server that starts
        // asleep has none until the controller wakes it. A server that always runs keeps the
        // await: a selector that matches no pod then fails the up instead of passing.
        ...(spec.scaling.minReplicas === 0 ? { [SKIP_AWAIT]: 'true' } : {}),
      },
    },
    spec: {
      type: 'ClusterIP',
      selector: serverSelectorLabels(spec.slug),
      ports: [{ name: 'mcp', port, targetPort: 'mcp', protocol: 'TCP', appProtocol: 'http' }],
    },
  };

  const networkPolicy: INetworkPolicy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      ...metadata,
      annotations: {
        'mcpfleet.dev/egress-hosts': egressHosts(spec, plan, options.images).join(','),
      },
    },
    spec: {
      podSelector: { matchLabels: serverSelectorLabels(spec.slug) },
      policyTypes: ['Ingress', 'Egress'],
      // Only the controller (the gateway) may reach a server, and only on its MCP port.
      ingress: [
        {
          from: [{ podSelector: { matchLabels: controllerSelectorLabels() } }],
          ports: [{ protocol: 'TCP', port }],
        },
      ],
      egress: serverEgress(spec, plan, options.images),
    },
  };

  return {
    deployment,
    service,
    networkPolicy,
    ...(persistentVolumeClaim ? { persistentVolumeClaim } : {}),
  };
}

/**
 * The claim behind $(MCPFLEET_DATA_DIR). Labelled without the version, and never awaited:
 * with a WaitForFirstConsumer class (gp3 on EKS) a claim binds only when a pod uses it, and a
 * server that starts asleep has none — pulumi-kubernetes awaits Bound on every update
 * (pulumi/pulumi-kubernetes#4181), so a version label would hang each version bump.
 */
function storageClaim(spec: WorkloadSpec, namespace: string): IPersistentVolumeClaim | undefined {
  if (!spec.storage) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: storageClaimName(spec.slug),
      namespace,
      labels: serverStableLabels(spec.slug),
      annotations: { [SKIP_AWAIT]: 'true', 'mcpfleet.dev/source': spec.source },
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(spec.storage.storageClass ? { storageClassName: spec.storage.storageClass } : {}),
      resources: { requests: { storage: spec.storage.size } },
    },
  };
}

function serverContainer(
  spec: WorkloadSpec,
  plan: ArtifactPlan,
  images: ImagesConfig,
  port: number,
): IContainer {
  // A map so a later source overrides an earlier one instead of duplicating the variable.
  const env = new Map<string, IEnvVar>();
  const set = (name: string, value: string) => env.set(name, { name, value });
  if (plan.type !== 'image') {
    // Runners write caches and logs under HOME; the root filesystem is read-only.
    set('HOME', '/tmp');
    set('npm_config_cache', '/tmp/.npm');
    set('UV_CACHE_DIR', '/tmp/uv-cache');
  }
  for (const [name, value] of Object.entries(spec.env)) set(name, value);
  if (spec.transport.type !== 'stdio' && spec.transport.portVariable) {
    set(spec.transport.portVariable, String(spec.transport.port));
  }
  for (const ref of spec.secretEnv) {
    env.set(ref.env, {
      name: ref.env,
      valueFrom: { secretKeyRef: { name: ref.secretName, key: ref.key } },
    });
  }

  const container: IContainer = {
    name: 'server',
    image: plan.image,
    imagePullPolicy: 'IfNotPresent',
    ports: [{ name: 'mcp', containerPort: port, protocol: 'TCP' }],
    env: [...env.values()],
    resources: { requests: { ...spec.resources.requests }, limits: { ...spec.resources.limits } },
    // kubelet's view of readiness; the controller's own MCP round trip gates traffic.
    readinessProbe: { tcpSocket: { port: 'mcp' }, periodSeconds: 2, failureThreshold: 3 },
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: [TMP_MOUNT],
  };
  if (plan.type === 'package' && plan.baked) container.workingDir = '/srv/mcp';

  // An mcpb bundle's entry point comes from its manifest, via the launcher the init container wrote.
  const argv =
    plan.type === 'mcpb' && spec.command.length === 0
      ? ['sh', BUNDLE_LAUNCHER, ...spec.args]
      : [...spec.command, ...spec.args];
  if (spec.transport.type === 'stdio') {
    // The pod IP is where the controller reaches it: every interface, inside the pod.
    const bridgeFlags = [
      '--host',
      '0.0.0.0',
      '--port',
      String(BRIDGE_PORT),
      ...(spec.warmSpare ? [] : ['--no-warm-spare']),
    ];
    if (plan.type === 'image') {
      const [program, ...rest] = imageEntrypoint(plan.image, images, spec.slug);
      container.image = runnerImage('node', images);
      container.command = ['mcpfleet', 'bridge', ...bridgeFlags, '--'];
      container.args = [`${SERVER_IMAGE_DIR}${program}`, ...rest, ...argv];
      // The image's WORKDIR is where its entrypoint sits, for the images this serves.
      container.workingDir = `${SERVER_IMAGE_DIR}${posix.dirname(program!)}`;
    } else {
      container.command = ['mcpfleet', 'bridge', ...bridgeFlags, '--', ...argv];
    }
  } else if (plan.type === 'image') {
    // The image's entrypoint is the server; only its arguments come from the spec.
    if (argv.length > 0) container.args = argv;
  } else {
    container.command = argv.slice(0, 1);
    if (argv.length > 1) container.args = argv.slice(1);
  }
  return container;
}

/** Entrypoint of a stdio OCI image, from `images.entrypoints` keyed by the image without tag/digest. */
function imageEntrypoint(image: string, images: ImagesConfig, slug: string): string[] {
  const repository = image.replace(/@sha256:[0-9a-f]+$/, '').replace(/:[^/:]+$/, '');
  const entrypoint = images.entrypoints[repository] ?? images.entrypoints[image];
  if (!entrypoint) {
    throw new Error(
      `mcpfleet:images.entrypoints: server ${slug} runs the stdio image ${image}; add its entrypoint under key "${repository}" so the bridge can start it`,
    );
  }
  if (!entrypoint[0]?.startsWith('/'))
    throw new Error(
      `mcpfleet:images.entrypoints["${repository}"]: the bridge starts ${JSON.stringify(entrypoint[0])} from the image mounted at ${SERVER_IMAGE_DIR}, so it must be an absolute path inside the image (e.g. "/server/github-mcp-server")`,
    );
  return entrypoint;
}

function serverEgress(spec: WorkloadSpec, plan: ArtifactPlan, images: ImagesConfig) {
  try {
    return egressRules(effectiveEgress(spec, plan, images));
  } catch (err) {
    throw new Error(`server ${spec.slug}: ${(err as Error).message}`, { cause: err });
  }
}

/** The spec's allowlist plus what the pod itself needs: the bundle host, the package registry. */
function effectiveEgress(
  spec: WorkloadSpec,
  plan: ArtifactPlan,
  images: ImagesConfig,
): EgressRule[] {
  const rules = [...spec.egress];
  for (const host of egressHosts(spec, plan, images).filter(
    (h) => !spec.egress.some((r) => r.host === h),
  )) {
    rules.push({ host, ports: [443] });
  }
  return rules;
}

function egressHosts(spec: WorkloadSpec, plan: ArtifactPlan, _images: ImagesConfig): string[] {
  const hosts = new Set(spec.egress.flatMap((rule) => (rule.host ? [rule.host] : [])));
  if (plan.type === 'mcpb') {
    for (const bundle of Object.values(plan.bundles)) hosts.add(new URL(bundle.url).hostname);
  }
  if (plan.type === 'package' && !plan.baked) {
    // install-on-start (dev only): the runner downloads the package when the pod starts.
    const registry = plan.artifact.registryBaseUrl;
    const fallback = { npm: 'registry.npmjs.org', pypi: 'pypi.org', nuget: 'api.nuget.org' }[
      plan.artifact.registryType
    ];
    hosts.add(registry ? new URL(registry).hostname : fallback);
    if (plan.artifact.registryType === 'pypi' && !registry) hosts.add('files.pythonhosted.org');
  }
  return [...hosts].sort();
}
