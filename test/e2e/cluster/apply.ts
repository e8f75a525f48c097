// Server-side apply as the Pulumi Kubernetes provider does it: PATCH with
// application/apply-patch+yaml (JSON is YAML), fieldManager "pulumi-kubernetes", force. The
// apiserver validates each object for real (schema, defaults, admission — PodSecurity included,
// whose verdict on a workload's pod template comes back as a Warning header), so a refusal or a
// warning names the object and the apiserver's own message.
import type { KubeConfig } from '@kubernetes/client-node';
import type { RequestOptions } from 'node:https';
import { Agent, fetch } from 'undici';
import { objectKey, type K8sObject } from './collect-objects.ts';

export const FIELD_MANAGER = 'pulumi-kubernetes';

/** The REST resource of each kind the program emits (plus the PersistentVolumes of this test). */
const RESOURCES: Record<string, { plural: string; namespaced: boolean }> = {
  'v1/Namespace': { plural: 'namespaces', namespaced: false },
  'v1/PersistentVolume': { plural: 'persistentvolumes', namespaced: false },
  'v1/ServiceAccount': { plural: 'serviceaccounts', namespaced: true },
  'v1/Pod': { plural: 'pods', namespaced: true },
  'rbac.authorization.k8s.io/v1/Role': { plural: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { plural: 'rolebindings', namespaced: true },
  'v1/Secret': { plural: 'secrets', namespaced: true },
  'v1/ConfigMap': { plural: 'configmaps', namespaced: true },
  'v1/PersistentVolumeClaim': { plural: 'persistentvolumeclaims', namespaced: true },
  'v1/Service': { plural: 'services', namespaced: true },
  'networking.k8s.io/v1/NetworkPolicy': { plural: 'networkpolicies', namespaced: true },
  'policy/v1/PodDisruptionBudget': { plural: 'poddisruptionbudgets', namespaced: true },
  'networking.k8s.io/v1/Ingress': { plural: 'ingresses', namespaced: true },
  'apps/v1/StatefulSet': { plural: 'statefulsets', namespaced: true },
  'apps/v1/Deployment': { plural: 'deployments', namespaced: true },
};

/** Dependency order: what a pod reads exists before the pod; policies before workloads. */
export const APPLY_ORDER = [
  'Namespace',
  'PersistentVolume',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'Secret',
  'ConfigMap',
  'PersistentVolumeClaim',
  'Service',
  'NetworkPolicy',
  'PodDisruptionBudget',
  'Ingress',
  'StatefulSet',
  'Deployment',
];

export function inApplyOrder(objects: readonly K8sObject[]): K8sObject[] {
  const rank = (o: K8sObject): number => {
    const i = APPLY_ORDER.indexOf(o.kind);
    if (i < 0) throw new Error(`${objectKey(o)}: no place in APPLY_ORDER for kind ${o.kind}`);
    return i;
  };
  return [...objects].sort((a, b) => rank(a) - rank(b));
}

export function objectPath(o: Pick<K8sObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  const resource = RESOURCES[`${o.apiVersion}/${o.kind}`];
  if (!resource) throw new Error(`no REST mapping for ${o.apiVersion} ${o.kind}`);
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const ns = resource.namespaced ? `/namespaces/${o.metadata.namespace}` : '';
  return `${base}${ns}/${resource.plural}/${o.metadata.name}`;
}

export class ApplyRefused extends Error {}

export interface Applied {
  object: K8sObject;
  /** The object as the apiserver stored it. */
  live: K8sObject & { metadata: { managedFields?: { manager?: string; operation?: string }[] } };
  warnings: string[];
}

export interface Applier {
  apply(object: K8sObject): Promise<Applied>;
  /** GET/POST/DELETE with the same credentials (JSON in and out). */
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

/** Secrets' values are test dummies, but they still stay out of error messages. */
const redacted = (o: K8sObject): unknown =>
  o.kind === 'Secret' ? { ...o, stringData: '(redacted)', data: '(redacted)' } : o;

export async function createApplier(kubeConfig: KubeConfig): Promise<Applier> {
  const server = kubeConfig.getCurrentCluster()!.server.replace(/\/$/, '');
  const opts: RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(opts);
  const agent = new Agent({ connect: { ca: opts.ca, cert: opts.cert, key: opts.key } });
  const call = async (method: string, path: string, body: unknown, contentType: string) => {
    const response = await fetch(`${server}${path}`, {
      method,
      dispatcher: agent,
      headers: { accept: 'application/json', 'content-type': contentType },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    const warnings = (response.headers.get('warning') ?? '')
      .split(/,(?=\s*299 )/)
      .map((w) =>
        w
          .trim()
          .replace(/^299 - "?|"$/g, '')
          .replace(/\\"/g, '"'),
      )
      .filter(Boolean);
    return { status: response.status, ok: response.ok, parsed, warnings };
  };
  return {
    async apply(object) {
      const path = `${objectPath(object)}?fieldManager=${FIELD_MANAGER}&force=true`;
      const result = await call('PATCH', path, object, 'application/apply-patch+yaml');
      if (!result.ok) {
        const status = result.parsed as { message?: string } | undefined;
        throw new ApplyRefused(
          `the apiserver refused ${objectKey(object)} (${result.status}): ${status?.message ?? JSON.stringify(result.parsed)}\n` +
            `object: ${JSON.stringify(redacted(object), null, 1)}`,
        );
      }
      return { object, live: result.parsed as Applied['live'], warnings: result.warnings };
    },
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const result = await call(method, path, body, 'application/json');
      if (!result.ok)
        throw new Error(`${method} ${path}: ${result.status} ${JSON.stringify(result.parsed)}`);
      return result.parsed as T;
    },
    close: () => agent.close(),
  };
}
