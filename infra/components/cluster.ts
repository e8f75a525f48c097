// An EKS cluster with API-mode access entries (no aws-auth ConfigMap), its control-plane log
// group, the managed add-ons (addons.ts) and two managed node groups (nodeGroups.ts), amd64
// (AL2023 x86_64) and arm64 (AL2023 ARM, Graviton), so servers of either architecture have
// somewhere to run. Plain @pulumi/aws resources: every child is visible to tests under mocks.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Arch } from '../../registry/catalog/spec.ts';
import type { EksClusterConfig, NodeGroupConfig } from '../config.ts';
import { nodeAddons, workloadAddons } from './addons.ts';
import { nodeGroups } from './nodeGroups.ts';

export { AMI_TYPES } from './nodeGroups.ts';

export interface ClusterArgs {
  config: EksClusterConfig;
  nodeGroups: Record<Arch, NodeGroupConfig>;
  vpcId: pulumi.Input<string>;
  publicSubnetIds: pulumi.Input<string>[];
  privateSubnetIds: pulumi.Input<string>[];
}

const CLUSTER_ADMIN_POLICY = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy';
const CONTROL_PLANE_LOGS = ['api', 'audit', 'authenticator'];

const assumeRole = (service: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: service },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
      },
    ],
  });

export class Cluster extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;
  readonly endpoint: pulumi.Output<string>;
  /** The security group EKS attaches to the control plane and managed nodes. */
  readonly securityGroupId: pulumi.Output<string>;
  readonly kubeconfig: pulumi.Output<string>;
  readonly nodeGroups: Record<Arch, aws.eks.NodeGroup>;
  /**
   * What the Kubernetes provider must wait for: the admins' access policy associations (with
   * `bootstrapClusterCreatorAdminPermissions: false` the deployer has no access before them, so
   * the first objects would get 401/403, and a destroy would revoke access before deleting
   * them), the node groups and the add-ons pods need (DNS, volumes).
   */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcpfleet:infra:Cluster', name, {}, opts);
    const parent = { parent: this };
    const { config } = args;

    const clusterRole = new aws.iam.Role(
      `${name}-cluster`,
      { assumeRolePolicy: assumeRole('eks.amazonaws.com') },
      parent,
    );
    const clusterPolicy = new aws.iam.RolePolicyAttachment(
      `${name}-cluster`,
      { role: clusterRole.name, policyArn: 'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy' },
      parent,
    );
    // Envelope encryption of Kubernetes Secrets (connection strings, server tokens) at rest.
    const secretsKey = new aws.kms.Key(
      `${name}-secrets`,
      {
        description: `${config.name} Kubernetes secrets`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
      },
      parent,
    );
    // The group EKS writes the control plane logs to. Created first and by name: left to EKS it
    // is created on the fly with no retention (kept forever, billed forever) and outside Pulumi.
    const logs = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: `/aws/eks/${config.name}/cluster`, retentionInDays: config.logRetentionDays },
      parent,
    );
    const cluster = new aws.eks.Cluster(
      `${name}-eks`,
      {
        name: config.name,
        version: config.version,
        roleArn: clusterRole.arn,
        accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: false },
        vpcConfig: {
          subnetIds: [...args.privateSubnetIds, ...args.publicSubnetIds],
          endpointPrivateAccess: true,
          endpointPublicAccess: config.endpointPublicAccess,
          publicAccessCidrs: config.endpointPublicAccess ? config.publicAccessCidrs : undefined,
        },
        encryptionConfig: { provider: { keyArn: secretsKey.arn }, resources: ['secrets'] },
        enabledClusterLogTypes: CONTROL_PLANE_LOGS,
      },
      { parent: this, dependsOn: [clusterPolicy, logs] },
    );

    // Access entries: who may administer the cluster, managed through the EKS API.
    const access = config.adminPrincipalArns.map((principalArn) => {
      const id = principalArn
        .split(':')
        .pop()!
        .replace(/[^A-Za-z0-9-]/g, '-');
      const entry = new aws.eks.AccessEntry(
        `${name}-admin-${id}`,
        { clusterName: cluster.name, principalArn, type: 'STANDARD' },
        parent,
      );
      return new aws.eks.AccessPolicyAssociation(
        `${name}-admin-${id}`,
        {
          clusterName: cluster.name,
          principalArn,
          policyArn: CLUSTER_ADMIN_POLICY,
          accessScope: { type: 'cluster' },
        },
        { parent: this, dependsOn: [entry] },
      );
    });

    const beforeNodes = nodeAddons(name, cluster.name, config.addons, this);
    this.nodeGroups = nodeGroups(
      name,
      {
        clusterName: cluster.name,
        version: cluster.version,
        subnetIds: args.privateSubnetIds,
        groups: args.nodeGroups,
        dependsOn: beforeNodes,
      },
      this,
    );
    const nodes = Object.values(this.nodeGroups);
    const afterNodes = workloadAddons(name, cluster.name, config.addons, this, nodes);
    this.ready = [...access, ...nodes, ...afterNodes];

    this.name = cluster.name;
    this.endpoint = cluster.endpoint;
    this.securityGroupId = cluster.vpcConfig.apply((vpc) => vpc.clusterSecurityGroupId);
    this.kubeconfig = pulumi.secret(
      pulumi
        .all([cluster.name, cluster.endpoint, cluster.certificateAuthority, cluster.arn])
        .apply(([clusterName, endpoint, ca, arn]) =>
          kubeconfigFor(clusterName, endpoint, ca.data ?? '', arn.split(':')[3] ?? ''),
        ),
    );
    this.registerOutputs({ name: this.name, endpoint: this.endpoint });
  }
}

/** A kubeconfig that authenticates with `aws eks get-token` (no long-lived credentials). */
export function kubeconfigFor(
  clusterName: string,
  endpoint: string,
  caData: string,
  region: string,
): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: clusterName, cluster: { server: endpoint, 'certificate-authority-data': caData } },
    ],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
    'current-context': clusterName,
    users: [
      {
        name: clusterName,
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: 'aws',
            args: [
              'eks',
              'get-token',
              '--cluster-name',
              clusterName,
              '--region',
              region,
              '--output',
              'json',
            ],
            interactiveMode: 'Never',
          },
        },
      },
    ],
  });
}
