// In-cluster PostgreSQL and Redis for stacks on an existing cluster (dataStores.mode
// "in-cluster"): StatefulSets with persistent volumes, restricted security contexts, and a
// NetworkPolicy that admits only the controller. Passwords come from the connection Secrets.
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IService } from 'kubernetes-models/v1/Service';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { InClusterDataStoresConfig } from '../config.ts';
import { controllerSelectorLabels, platformLabels } from '../../registry/catalog/workload-names.ts';
import { POSTGRES_SECRET, REDIS_SECRET } from './platform.ts';
import {
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  TMP_MOUNT,
  TMP_VOLUME,
} from './security.ts';

export const POSTGRES_NAME = 'mcpfleet-postgres';
export const REDIS_NAME = 'mcpfleet-redis';
export const POSTGRES_DATABASE = 'mcpfleet';
export const POSTGRES_USER = 'mcpfleet';
/** uid/gid of the `postgres` and `redis` users in the official images. */
const POSTGRES_UID = 999;
const REDIS_UID = 999;

/** Pod-template annotation that changes when a connection password rotates. */
export const SECRETS_REVISION = 'mcpfleet.dev/secrets-revision';

/** The part of the secrets revision that belongs to Redis's password. */
export const redisRevision = (config: { redis: { tokenRotation: number } }) =>
  `redis-${config.redis.tokenRotation}`;

export interface DataStoreManifests {
  statefulSet: IStatefulSet;
  service: IService;
  networkPolicy: INetworkPolicy;
}

const selector = (name: string) => ({
  'app.kubernetes.io/name': name,
  'app.kubernetes.io/instance': name,
});

function storeService(name: string, namespace: string, port: number): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: platformLabels(name, 'data-store') },
    spec: {
      type: 'ClusterIP',
      selector: selector(name),
      ports: [{ name: 'tcp', port, targetPort: port, protocol: 'TCP' }],
    },
  };
}

function storePolicy(name: string, namespace: string, port: number): INetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, labels: platformLabels(name, 'data-store') },
    spec: {
      podSelector: { matchLabels: selector(name) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: controllerSelectorLabels() } }],
          ports: [{ protocol: 'TCP', port }],
        },
      ],
      egress: [],
    },
  };
}

function volumeClaim(
  storage: string,
  storageClassName: string | undefined,
): Omit<IPersistentVolumeClaim, 'apiVersion' | 'kind'> {
  return {
    metadata: { name: 'data' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(storageClassName ? { storageClassName } : {}),
      resources: { requests: { storage } },
    },
  };
}

export function postgresManifests(
  namespace: string,
  config: InClusterDataStoresConfig,
): DataStoreManifests {
  const labels = platformLabels(POSTGRES_NAME, 'data-store');
  const statefulSet: IStatefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: POSTGRES_NAME, namespace, labels },
    spec: {
      serviceName: POSTGRES_NAME,
      replicas: 1,
      selector: { matchLabels: selector(POSTGRES_NAME) },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: restrictedPodSecurityContext(POSTGRES_UID),
          containers: [
            {
              name: 'postgres',
              image: config.postgres.image,
              ports: [{ name: 'tcp', containerPort: 5432 }],
              env: [
                { name: 'POSTGRES_DB', value: POSTGRES_DATABASE },
                { name: 'POSTGRES_USER', value: POSTGRES_USER },
                {
                  name: 'POSTGRES_PASSWORD',
                  valueFrom: { secretKeyRef: { name: POSTGRES_SECRET, key: 'password' } },
                },
                // A subdirectory: the volume root holds lost+found, which initdb refuses.
                { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
              ],
              resources: config.postgres.resources,
              readinessProbe: {
                exec: { command: ['pg_isready', '-U', POSTGRES_USER, '-d', POSTGRES_DATABASE] },
                periodSeconds: 5,
              },
              securityContext: restrictedContainerSecurityContext(),
              volumeMounts: [
                { name: 'data', mountPath: '/var/lib/postgresql/data' },
                { name: 'run', mountPath: '/var/run/postgresql' },
                TMP_MOUNT,
              ],
            },
          ],
          volumes: [TMP_VOLUME, { name: 'run', emptyDir: {} }],
        },
      },
      volumeClaimTemplates: [volumeClaim(config.postgres.storageSize, config.storageClassName)],
    },
  };
  return {
    statefulSet,
    service: storeService(POSTGRES_NAME, namespace, 5432),
    networkPolicy: storePolicy(POSTGRES_NAME, namespace, 5432),
  };
}

export function redisManifests(
  namespace: string,
  config: InClusterDataStoresConfig,
): DataStoreManifests {
  const labels = platformLabels(REDIS_NAME, 'data-store');
  const statefulSet: IStatefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: REDIS_NAME, namespace, labels },
    spec: {
      serviceName: REDIS_NAME,
      replicas: 1,
      selector: { matchLabels: selector(REDIS_NAME) },
      template: {
        // Redis reads --requirepass when it starts: a rotated password restarts it, as it
        // restarts the controller (which carries the same revision).
        metadata: { labels, annotations: { [SECRETS_REVISION]: redisRevision(config) } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: restrictedPodSecurityContext(REDIS_UID),
          containers: [
            {
              name: 'redis',
              image: config.redis.image,
              // The password reaches redis through the environment (Kubernetes expands $(VAR)),
              // never through a ConfigMap or the manifest.
              args: ['--requirepass', '$(REDIS_PASSWORD)', '--appendonly', 'yes', '--dir', '/data'],
              ports: [{ name: 'tcp', containerPort: 6379 }],
              env: [
                {
                  name: 'REDIS_PASSWORD',
                  valueFrom: { secretKeyRef: { name: REDIS_SECRET, key: 'password' } },
                },
              ],
              resources: config.redis.resources,
              readinessProbe: { tcpSocket: { port: 6379 }, periodSeconds: 5 },
              securityContext: restrictedContainerSecurityContext(),
              volumeMounts: [{ name: 'data', mountPath: '/data' }, TMP_MOUNT],
            },
          ],
          volumes: [TMP_VOLUME],
        },
      },
      volumeClaimTemplates: [volumeClaim(config.redis.storageSize, config.storageClassName)],
    },
  };
  return {
    statefulSet,
    service: storeService(REDIS_NAME, namespace, 6379),
    networkPolicy: storePolicy(REDIS_NAME, namespace, 6379),
  };
}
