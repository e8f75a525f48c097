// Connection details for PostgreSQL and Redis, and the Kubernetes Secrets the controller reads
// them from. Both data store components (AWS-managed and in-cluster) produce a `Connections`.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { platformLabels } from '../../registry/catalog/workload-names.ts';
import { POSTGRES_SECRET, REDIS_SECRET } from '../manifests/platform.ts';

export interface Connections {
  postgres: {
    host: pulumi.Output<string>;
    port: number;
    database: string;
    username: string;
    password: pulumi.Output<string>;
    /** verify-full: TLS, the certificate checked against `sslrootcert` and the host name. */
    sslmode: 'verify-full' | 'disable';
    /** The CA bundle file in the controller pod (see DATABASE_CA_FILE). */
    sslrootcert?: string;
  };
  redis: {
    host: pulumi.Output<string>;
    port: number;
    password: pulumi.Output<string>;
    tls: boolean;
  };
}

/** Creates the two connection Secrets (children of `parent`); values are Pulumi secrets. */
export function connectionSecrets(
  parent: pulumi.Resource,
  namespace: pulumi.Input<string>,
  c: Connections,
): k8s.core.v1.Secret[] {
  const { postgres, redis } = c;
  const tls = postgres.sslrootcert ? `&sslrootcert=${postgres.sslrootcert}` : '';
  const postgresUrl = pulumi.interpolate`postgres://${postgres.username}:${postgres.password.apply(encodeURIComponent)}@${postgres.host}:${postgres.port}/${postgres.database}?sslmode=${postgres.sslmode}${tls}`;
  const redisUrl = pulumi.interpolate`${redis.tls ? 'rediss' : 'redis'}://:${redis.password.apply(encodeURIComponent)}@${redis.host}:${redis.port}`;
  return [
    new k8s.core.v1.Secret(
      POSTGRES_SECRET,
      {
        metadata: {
          name: POSTGRES_SECRET,
          namespace,
          labels: platformLabels(POSTGRES_SECRET, 'connection'),
        },
        type: 'Opaque',
        stringData: {
          host: postgres.host,
          port: String(postgres.port),
          database: postgres.database,
          username: postgres.username,
          password: pulumi.secret(postgres.password),
          url: pulumi.secret(postgresUrl),
        },
      },
      { parent },
    ),
    new k8s.core.v1.Secret(
      REDIS_SECRET,
      {
        metadata: {
          name: REDIS_SECRET,
          namespace,
          labels: platformLabels(REDIS_SECRET, 'connection'),
        },
        type: 'Opaque',
        stringData: {
          host: redis.host,
          port: String(redis.port),
          tls: String(redis.tls),
          password: pulumi.secret(redis.password),
          url: pulumi.secret(redisUrl),
        },
      },
      { parent },
    ),
  ];
}
