// PostgreSQL on RDS and Redis on ElastiCache, hardened: encrypted at rest, TLS in transit, private
// subnets only, never publicly accessible, reachable only from the cluster's security group.
// Passwords are generated (random) and rotate when the stack config bumps the rotation counter.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import type { AwsDataStoresConfig } from '../config.ts';
import { POSTGRES_DATABASE, POSTGRES_USER } from '../manifests/datastores.ts';
import { DATABASE_CA_FILE } from '../manifests/platform.ts';
import { connectionSecrets, type Connections } from './connections.ts';
import { databaseCaConfigMap, fetchRdsCaBundle } from './rdsCaBundle.ts';

export interface AwsDataStoresArgs {
  config: AwsDataStoresConfig;
  vpcId: pulumi.Input<string>;
  privateSubnetIds: pulumi.Input<string>[];
  /** Only this security group (the EKS cluster's) may connect. */
  clusterSecurityGroupId: pulumi.Input<string>;
  namespace: pulumi.Input<string>;
  /** The region the instances live in: its RDS CA bundle is the one the controller trusts. */
  region: string;
}

export class AwsDataStores extends pulumi.ComponentResource {
  readonly connections: Connections;
  readonly postgresEndpoint: pulumi.Output<string>;
  readonly redisEndpoint: pulumi.Output<string>;

  constructor(name: string, args: AwsDataStoresArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcpfleet:infra:AwsDataStores', name, {}, opts);
    const parent = { parent: this };
    const { postgres, redis } = args.config;

    const securityGroup = (id: string, port: number, description: string) =>
      new aws.ec2.SecurityGroup(
        `${name}-${id}`,
        {
          vpcId: args.vpcId,
          description,
          ingress: [
            {
              protocol: 'tcp',
              fromPort: port,
              toPort: port,
              securityGroups: [args.clusterSecurityGroupId],
              description: 'from the EKS cluster',
            },
          ],
          egress: [],
          tags: { Name: `${name}-${id}` },
        },
        parent,
      );

    // PostgreSQL ---------------------------------------------------------------------------
    const postgresGroup = securityGroup('postgres', 5432, 'mcpfleet PostgreSQL: cluster only');
    const dbSubnets = new aws.rds.SubnetGroup(
      `${name}-postgres`,
      { subnetIds: args.privateSubnetIds },
      parent,
    );
    const parameters = new aws.rds.ParameterGroup(
      `${name}-postgres`,
      {
        family: `postgres${postgres.engineVersion}`,
        parameters: [{ name: 'rds.force_ssl', value: '1' }],
      },
      parent,
    );
    const dbPassword = new random.RandomPassword(
      `${name}-postgres-password`,
      { length: 40, special: false, keepers: { rotation: String(postgres.passwordRotation) } },
      parent,
    );
    // The final snapshot of a destroy needs a name no earlier destroy used: a stack destroyed,
    // re-created and destroyed again would otherwise collide with its first snapshot.
    const snapshotSuffix = new random.RandomId(
      `${name}-postgres-final-snapshot`,
      { byteLength: 4 },
      parent,
    );
    const db = new aws.rds.Instance(
      `${name}-postgres`,
      {
        engine: 'postgres',
        // The major only: RDS picks the latest minor and upgrades it (autoMinorVersionUpgrade);
        // the provider compares it as a prefix of the running version, so no downgrade is planned.
        engineVersion: postgres.engineVersion,
        instanceClass: postgres.instanceClass,
        allocatedStorage: postgres.allocatedStorageGiB,
        maxAllocatedStorage: postgres.maxAllocatedStorageGiB,
        storageType: 'gp3',
        storageEncrypted: true,
        dbName: POSTGRES_DATABASE,
        username: POSTGRES_USER,
        password: dbPassword.result,
        dbSubnetGroupName: dbSubnets.name,
        vpcSecurityGroupIds: [postgresGroup.id],
        parameterGroupName: parameters.name,
        publiclyAccessible: false,
        multiAz: postgres.multiAz,
        deletionProtection: postgres.deletionProtection,
        backupRetentionPeriod: postgres.backupRetentionDays,
        backupWindow: '03:00-04:00',
        maintenanceWindow: 'sun:04:30-sun:05:30',
        copyTagsToSnapshot: true,
        autoMinorVersionUpgrade: true,
        // A rotated password applies now, not at the next maintenance window.
        applyImmediately: true,
        skipFinalSnapshot: !postgres.deletionProtection,
        finalSnapshotIdentifier: postgres.deletionProtection
          ? pulumi.interpolate`${name}-postgres-final-${snapshotSuffix.hex}`
          : undefined,
        performanceInsightsEnabled: true,
      },
      parent,
    );

    // Redis --------------------------------------------------------------------------------
    const redisGroup = securityGroup('redis', 6379, 'mcpfleet Redis: cluster only');
    const cacheSubnets = new aws.elasticache.SubnetGroup(
      `${name}-redis`,
      { subnetIds: args.privateSubnetIds },
      parent,
    );
    // ElastiCache tokens: 16-128 printable characters without @ " /; alphanumerics are safe.
    const redisToken = new random.RandomPassword(
      `${name}-redis-token`,
      { length: 48, special: false, keepers: { rotation: String(redis.tokenRotation) } },
      parent,
    );
    const cache = new aws.elasticache.ReplicationGroup(
      `${name}-redis`,
      {
        description: 'mcpfleet coordination (activity, routes, wake locks)',
        engine: 'redis',
        engineVersion: redis.engineVersion,
        nodeType: redis.nodeType,
        numCacheClusters: redis.nodes,
        automaticFailoverEnabled: redis.automaticFailover,
        multiAzEnabled: redis.automaticFailover,
        port: 6379,
        subnetGroupName: cacheSubnets.name,
        securityGroupIds: [redisGroup.id],
        transitEncryptionEnabled: true,
        atRestEncryptionEnabled: true,
        authToken: redisToken.result,
        // ROTATE: a new token joins the old one (both valid while the controller rolls); SET,
        // on the next up, leaves only the current token (docs/runbooks/rotating-database-password.md).
        authTokenUpdateStrategy: redis.tokenUpdateStrategy,
        snapshotRetentionLimit: redis.snapshotRetentionDays,
        applyImmediately: true,
      },
      parent,
    );

    this.connections = {
      postgres: {
        host: db.address,
        port: 5432,
        database: POSTGRES_DATABASE,
        username: POSTGRES_USER,
        password: pulumi.secret(dbPassword.result),
        sslmode: 'verify-full',
        sslrootcert: DATABASE_CA_FILE,
      },
      redis: {
        host: cache.primaryEndpointAddress,
        port: 6379,
        password: pulumi.secret(redisToken.result),
        tls: true,
      },
    };
    connectionSecrets(this, args.namespace, this.connections);
    databaseCaConfigMap(this, args.namespace, pulumi.output(fetchRdsCaBundle(args.region)));
    this.postgresEndpoint = pulumi.interpolate`${db.address}:5432`;
    this.redisEndpoint = pulumi.interpolate`${cache.primaryEndpointAddress}:6379`;
    this.registerOutputs({
      postgresEndpoint: this.postgresEndpoint,
      redisEndpoint: this.redisEndpoint,
    });
  }
}
