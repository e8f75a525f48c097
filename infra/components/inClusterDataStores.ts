// PostgreSQL and Redis as StatefulSets with persistent volumes, for a stack on an existing
// cluster without managed services (dataStores.mode "in-cluster"). Same connection Secrets as
// the AWS variant, so the controller cannot tell the difference.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import type { InClusterDataStoresConfig } from '../config.ts';
import {
  postgresManifests,
  POSTGRES_DATABASE,
  POSTGRES_NAME,
  POSTGRES_USER,
  redisManifests,
  REDIS_NAME,
  type DataStoreManifests,
} from '../manifests/datastores.ts';
import { connectionSecrets, type Connections } from './connections.ts';

export interface InClusterDataStoresArgs {
  config: InClusterDataStoresConfig;
  namespace: string;
}

export class InClusterDataStores extends pulumi.ComponentResource {
  readonly connections: Connections;
  readonly postgresEndpoint: pulumi.Output<string>;
  readonly redisEndpoint: pulumi.Output<string>;

  constructor(name: string, args: InClusterDataStoresArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcpfleet:infra:InClusterDataStores', name, {}, opts);
    const { config, namespace } = args;
    const password = (id: string, rotation: number) =>
      new random.RandomPassword(
        `${name}-${id}`,
        { length: 40, special: false, keepers: { rotation: String(rotation) } },
        { parent: this },
      );
    const postgresPassword = password('postgres-password', config.postgres.passwordRotation);
    const redisPassword = password('redis-password', config.redis.tokenRotation);
    const host = (service: string) => pulumi.output(`${service}.${namespace}.svc.cluster.local`);
    this.connections = {
      postgres: {
        host: host(POSTGRES_NAME),
        port: 5432,
        database: POSTGRES_DATABASE,
        username: POSTGRES_USER,
        password: pulumi.secret(postgresPassword.result),
        sslmode: 'disable',
      },
      redis: {
        host: host(REDIS_NAME),
        port: 6379,
        password: pulumi.secret(redisPassword.result),
        tls: false,
      },
    };
    const secrets = connectionSecrets(this, namespace, this.connections);
    const emit = (id: string, m: DataStoreManifests) => {
      new k8s.core.v1.Service(`${id}-service`, m.service, { parent: this });
      new k8s.networking.v1.NetworkPolicy(
        `${id}-policy`,
        m.networkPolicy as k8s.networking.v1.NetworkPolicyArgs,
        { parent: this },
      );
      new k8s.apps.v1.StatefulSet(
        `${id}-statefulset`,
        m.statefulSet as k8s.apps.v1.StatefulSetArgs,
        {
          parent: this,
          dependsOn: secrets,
        },
      );
    };
    emit(POSTGRES_NAME, postgresManifests(namespace, config));
    emit(REDIS_NAME, redisManifests(namespace, config));
    this.postgresEndpoint = pulumi.interpolate`${this.connections.postgres.host}:5432`;
    this.redisEndpoint = pulumi.interpolate`${this.connections.redis.host}:6379`;
    this.registerOutputs({
      postgresEndpoint: this.postgresEndpoint,
      redisEndpoint: this.redisEndpoint,
    });
  }
}
