// The platform objects: namespace, the controller (identity, RBAC, Deployment, PDB, Service,
// Ingress) and the registry ConfigMaps it reads. Pure builders, like server.ts.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { ITopologySpreadConstraint } from 'kubernetes-models/v1/TopologySpreadConstraint';
import type { ServerSpec } from '../../registry/catalog/spec.ts';
import type { AuditConfig } from '../audit-config.ts';
import type { AuthConfig } from '../auth-config.ts';
import type { ControllerConfig } from '../config.ts';
import {
  CONTROLLER_COMPONENT,
  CONTROLLER_NAME,
  controllerSelectorLabels,
  PART_OF,
  platformLabels,
} from '../../registry/catalog/workload-names.ts';
import {
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  TMP_MOUNT,
  TMP_VOLUME,
} from './security.ts';
import { controllerAuthEnv, KEY_HASHING_REVISION_ANNOTATION } from './controllerAuth.ts';
import { platformPolicyPodParts, type PlatformPolicy } from './platformPolicy.ts';

export const CONTROLLER_PORT = 8080;
export const POSTGRES_SECRET = 'mcpfleet-postgres';
export const REDIS_SECRET = 'mcpfleet-redis';
export const REGISTRY_MOUNT = '/etc/mcpfleet/registry';
/**
 * The CA bundle the controller verifies PostgreSQL's certificate with (RDS: Amazon's RDS CAs,
 * which Node does not trust by itself). DATABASE_URL names the file (`sslrootcert`).
 */
export const DATABASE_CA_CONFIGMAP = 'mcpfleet-database-ca';
export const DATABASE_CA_KEY = 'ca.pem';
export const DATABASE_CA_DIR = '/etc/mcpfleet/database-ca';
export const DATABASE_CA_FILE = `${DATABASE_CA_DIR}/${DATABASE_CA_KEY}`;
/** Label that marks the registry ConfigMaps; the controller lists them by it. */
export const REGISTRY_LABEL = 'mcpfleet.dev/registry';
/** ConfigMaps hold at most 1 MiB; shards stay well below so annotations and growth fit. */
const REGISTRY_SHARD_BYTES = 512 * 1024;

export function namespaceManifest(name: string): INamespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: {
        'app.kubernetes.io/part-of': PART_OF,
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
        'pod-security.kubernetes.io/warn': 'restricted',
        'pod-security.kubernetes.io/audit': 'restricted',
      },
    },
  };
}

const controllerLabels = () => platformLabels(CONTROLLER_NAME, CONTROLLER_COMPONENT);

export function controllerServiceAccount(namespace: string): IServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: CONTROLLER_NAME, namespace, labels: controllerLabels() },
  };
}

/**
 * Least privilege for the controller, namespaced: it reads Deployments, Pods, EndpointSlices and
 * ConfigMaps; it writes only the scale subresource of Deployments (never their pod template);
 * it holds a Lease for leader election. No wildcards anywhere.
 */
export function controllerRole(namespace: string): IRole {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: CONTROLLER_NAME, namespace, labels: controllerLabels() },
    rules: [
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch', 'update'] },
      { apiGroups: [''], resources: ['pods', 'configmaps'], verbs: ['get', 'list', 'watch'] },
      {
        apiGroups: ['discovery.k8s.io'],
        resources: ['endpointslices'],
        verbs: ['get', 'list', 'watch'],
      },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        verbs: ['create', 'get', 'update'],
      },
    ],
  };
}

export function controllerRoleBinding(namespace: string): IRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: CONTROLLER_NAME, namespace, labels: controllerLabels() },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: CONTROLLER_NAME },
    subjects: [{ kind: 'ServiceAccount', name: CONTROLLER_NAME, namespace }],
  };
}

export interface ControllerDeploymentOptions {
  namespace: string;
  controller: ControllerConfig;
  /** Who may call (mcpfleet:auth): the auth env and the key-hashing secret's reference. */
  auth: AuthConfig;
  /** The platform policy file (mcpfleet:auth.policyFile) as checked at preview; none: no mount. */
  platformPolicy?: PlatformPolicy;
  /** The audit log's settings (mcpfleet:audit); unset ones keep the controller's defaults. */
  audit: AuditConfig;
  gatewayUrl: string;
  registryConfigMaps: string[];
  /** Changes whenever a connection secret rotates, so the pods restart and re-read it. */
  secretsRevision: string;
  /** Mount the database CA bundle ConfigMap (DATABASE_CA_CONFIGMAP) at DATABASE_CA_DIR. */
  databaseCa?: boolean;
}

export function controllerDeployment(options: ControllerDeploymentOptions): IDeployment {
  const { controller, namespace } = options;
  const spread: ITopologySpreadConstraint[] = [
    {
      maxSkew: 1,
      topologyKey: 'topology.kubernetes.io/zone',
      whenUnsatisfiable: controller.zoneSpread === 'required' ? 'DoNotSchedule' : 'ScheduleAnyway',
      labelSelector: { matchLabels: controllerSelectorLabels() },
    },
    {
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: controllerSelectorLabels() },
    },
  ];
  const policy = platformPolicyPodParts(options.platformPolicy);
  const secretEnv = (name: string, secret: string, key: string) => ({
    name,
    valueFrom: { secretKeyRef: { name: secret, key } },
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: CONTROLLER_NAME, namespace, labels: controllerLabels() },
    spec: {
      replicas: controller.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: controllerSelectorLabels() },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: controllerLabels(),
          annotations: {
            'mcpfleet.dev/secrets-revision': options.secretsRevision,
            [KEY_HASHING_REVISION_ANNOTATION]: String(options.auth.keyHashingSecretRotation),
            ...policy.annotations,
          },
        },
        spec: {
          serviceAccountName: CONTROLLER_NAME,
          // The controller talks to the Kubernetes API (scale, watch, lease).
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          securityContext: restrictedPodSecurityContext(),
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          topologySpreadConstraints: spread,
          terminationGracePeriodSeconds: 45,
          containers: [
            {
              name: 'controller',
              image: controller.image,
              imagePullPolicy: 'IfNotPresent',
              args: ['serve', '--runtime', 'kubernetes', '--port', String(CONTROLLER_PORT)],
              ports: [{ name: 'http', containerPort: CONTROLLER_PORT, protocol: 'TCP' }],
              env: [
                { name: 'MCPFLEET_RUNTIME', value: 'kubernetes' },
                {
                  name: 'MCPFLEET_NAMESPACE',
                  valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
                },
                {
                  name: 'MCPFLEET_POD_NAME',
                  valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
                },
                { name: 'MCPFLEET_REGISTRY_DIR', value: REGISTRY_MOUNT },
                { name: 'MCPFLEET_PUBLIC_URL', value: options.gatewayUrl },
                ...controllerAuthEnv(options.auth),
                ...policy.env,
                ...(options.audit.retention !== undefined
                  ? [{ name: 'MCPFLEET_AUDIT_RETENTION', value: options.audit.retention }]
                  : []),
                { name: 'MCPFLEET_LOG_LEVEL', value: controller.logLevel },
                { name: 'HOME', value: '/tmp' },
                secretEnv('DATABASE_URL', POSTGRES_SECRET, 'url'),
                secretEnv('REDIS_URL', REDIS_SECRET, 'url'),
              ],
              resources: controller.resources,
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
              livenessProbe: {
                httpGet: { path: '/healthz', port: 'http' },
                periodSeconds: 10,
                failureThreshold: 3,
              },
              securityContext: restrictedContainerSecurityContext(),
              volumeMounts: [
                TMP_MOUNT,
                { name: 'registry', mountPath: REGISTRY_MOUNT, readOnly: true },
                ...(options.databaseCa
                  ? [{ name: 'database-ca', mountPath: DATABASE_CA_DIR, readOnly: true }]
                  : []),
                ...policy.volumeMounts,
              ],
            },
          ],
          volumes: [
            TMP_VOLUME,
            {
              name: 'registry',
              projected: {
                sources: options.registryConfigMaps.map((name) => ({
                  configMap: { name, items: [{ key: 'servers.json', path: `${name}.json` }] },
                })),
              },
            },
            ...(options.databaseCa
              ? [{ name: 'database-ca', configMap: { name: DATABASE_CA_CONFIGMAP } }]
              : []),
            ...policy.volumes,
          ],
        },
      },
    },
  };
}

export function controllerPodDisruptionBudget(namespace: string): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: CONTROLLER_NAME, namespace, labels: controllerLabels() },
    // maxUnavailable (not minAvailable) so a single-replica dev controller never blocks a drain.
    spec: { maxUnavailable: 1, selector: { matchLabels: controllerSelectorLabels() } },
  };
}

export function controllerService(namespace: string): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: CONTROLLER_NAME, namespace, labels: controllerLabels() },
    spec: {
      type: 'ClusterIP',
      selector: controllerSelectorLabels(),
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }],
    },
  };
}

/**
 * The compiled registry as ConfigMaps: each holds `servers.json`, a JSON array of ServerSpec.
 * Sharded so a large registry never exceeds the 1 MiB ConfigMap limit; the controller reads every
 * shard from its projected volume (or lists ConfigMaps labelled mcpfleet.dev/registry).
 */
export function registryConfigMaps(specs: readonly ServerSpec[], namespace: string): IConfigMap[] {
  const shards: ServerSpec[][] = [[]];
  let size = 2;
  for (const spec of [...specs].sort((a, b) => a.slug.localeCompare(b.slug))) {
    const bytes = Buffer.byteLength(JSON.stringify(spec)) + 1;
    if (size + bytes > REGISTRY_SHARD_BYTES && shards.at(-1)!.length > 0) {
      shards.push([]);
      size = 2;
    }
    shards.at(-1)!.push(spec);
    size += bytes;
  }
  return shards.map((shard, index) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `mcpfleet-registry-${index}`,
      namespace,
      labels: { ...platformLabels('mcpfleet-registry', 'registry'), [REGISTRY_LABEL]: 'true' },
      annotations: { 'mcpfleet.dev/shard': `${index + 1}/${shards.length}` },
    },
    data: { 'servers.json': JSON.stringify(shard) },
  }));
}
