// An EKS cluster with API-mode access entries (no aws-auth ConfigMap) and two managed node groups,
// amd64 (AL2023 x86_64) and arm64 (AL2023 ARM, Graviton), so servers of either architecture have
// somewhere to run. Plain @pulumi/aws resources: every child is visible to tests under mocks.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Arch } from '../../registry/catalog/spec.ts';
import type { EksClusterConfig, NodeGroupConfig } from '../config.ts';

export interface ClusterArgs {
  config: EksClusterConfig;
  nodeGroups: Record<Arch, NodeGroupConfig>;
  vpcId: pulumi.Input<string>;
  publicSubnetIds: pulumi.Input<string>[];
  privateSubnetIds: pulumi.Input<string>[];
}

export const AMI_TYPES: Record<Arch, string> = {
  amd64: 'AL2023_x86_64_STANDARD',
  arm64: 'AL2023_ARM_64_STANDARD',
};
const CLUSTER_ADMIN_POLICY = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy';

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
        enabledClusterLogTypes: ['api', 'audit', 'authenticator'],
      },
      { parent: this, dependsOn: [clusterPolicy] },
    );
    // The VPC CNI enforces NetworkPolicy only when asked; every server relies on default-deny.
    new aws.eks.Addon(
      `${name}-vpc-cni`,
      {
        clusterName: cluster.name,
        addonName: 'vpc-cni',
        configurationValues: JSON.stringify({ enableNetworkPolicy: 'true' }),
        resolveConflictsOnUpdate: 'OVERWRITE',
      },
      parent,
    );

    const nodeRole = new aws.iam.Role(
      `${name}-node`,
      { assumeRolePolicy: assumeRole('ec2.amazonaws.com') },
      parent,
    );
    const nodePolicies = [
      'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy',
      'arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy',
      'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
    ].map(
      (policyArn) =>
        new aws.iam.RolePolicyAttachment(
          `${name}-node-${policyArn.split('/').pop()}`,
          { role: nodeRole.name, policyArn },
          parent,
        ),
    );

    const nodeGroup = (arch: Arch, group: NodeGroupConfig) =>
      new aws.eks.NodeGroup(
        `${name}-${arch}`,
        {
          clusterName: cluster.name,
          nodeGroupName: `${config.name}-${arch}`,
          nodeRoleArn: nodeRole.arn,
          subnetIds: args.privateSubnetIds,
          amiType: AMI_TYPES[arch],
          instanceTypes: group.instanceTypes,
          capacityType: group.capacityType,
          diskSize: group.diskSizeGiB,
          scalingConfig: {
            minSize: group.minSize,
            desiredSize: group.desiredSize,
            maxSize: group.maxSize,
          },
          updateConfig: { maxUnavailable: 1 },
          labels: { 'mcpfleet.dev/node-pool': arch },
          tags: { 'mcpfleet.dev/node-pool': arch },
        },
        { parent: this, dependsOn: nodePolicies },
      );
    this.nodeGroups = {
      amd64: nodeGroup('amd64', args.nodeGroups.amd64),
      arm64: nodeGroup('arm64', args.nodeGroups.arm64),
    };

    // Access entries: who may administer the cluster, managed through the EKS API.
    for (const principalArn of config.adminPrincipalArns) {
      const id = principalArn
        .split(':')
        .pop()!
        .replace(/[^A-Za-z0-9-]/g, '-');
      const entry = new aws.eks.AccessEntry(
        `${name}-admin-${id}`,
        { clusterName: cluster.name, principalArn, type: 'STANDARD' },
        parent,
      );
      new aws.eks.AccessPolicyAssociation(
        `${name}-admin-${id}`,
        {
          clusterName: cluster.name,
          principalArn,
          policyArn: CLUSTER_ADMIN_POLICY,
          accessScope: { type: 'cluster' },
        },
        { parent: this, dependsOn: [entry] },
      );
    }

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
