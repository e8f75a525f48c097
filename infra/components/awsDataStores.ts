// PostgreSQL on RDS and Redis on ElastiCache, hardened: encrypted at rest, TLS in transit, private
// subnets only, never publicly accessible, reachable only from the cluster's security group.
// Passwords are generated (random) and rotate when the stack config bumps the rotation counter.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import type { AwsDataStoresConfig } from '../config.ts';
import { POSTGRES_DATABASE, POSTGRES_USER } from '../manifests/datastores.ts';
import { connectionSecrets, type Connections } from './connections.ts';

export interface AwsDataStoresArgs {
  config: AwsDataStoresConfig;
  vpcId: pulumi.Input<string>;
  privateSubnetIds: pulumi.Input<string>[];
  /** Only this security group (the EKS cluster's) may connect. */
  clusterSecurityGroupId: pulumi.Input<string>;
  namespace: pulumi.Input<string>;
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
    const major = postgres.engineVersion.split('.')[0];
    const parameters = new aws.rds.ParameterGroup(
      `${name}-postgres`,
      { family: `postgres${major}`, parameters: [{ name: 'rds.force_ssl', value: '1' }] },
      parent,
    );
    const dbPassword = new random.RandomPassword(
      `${name}-postgres-password`,
      { length: 40, special: false, keepers: { rotation: String(postgres.passwordRotation) } },
      parent,
    );
    const db = new aws.rds.Instance(
      `${name}-postgres`,
      {
        engine: 'postgres',
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
        finalSnapshotIdentifier: postgres.deletionProtection ? `${name}-postgres-final` : undefined,
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
        authTokenUpdateStrategy: 'ROTATE',
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
        sslmode: 'require',
      },
      redis: {
        host: cache.primaryEndpointAddress,
        port: 6379,
        password: pulumi.secret(redisToken.result),
        tls: true,
      },
    };
    connectionSecrets(this, args.namespace, this.connections);
    this.postgresEndpoint = pulumi.interpolate`${db.address}:5432`;
    this.redisEndpoint = pulumi.interpolate`${cache.primaryEndpointAddress}:6379`;
    this.registerOutputs({
      postgresEndpoint: this.postgresEndpoint,
      redisEndpoint: this.redisEndpoint,
    });
  }
}
