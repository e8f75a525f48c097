// The managed node groups, one per architecture, each with a launch template of its own.
// - No fixed names: a change EKS cannot make in place (instance types, capacity type, subnets,
//   AMI type) replaces the group, and Pulumi creates the replacement before deleting the old
//   one; with a fixed `nodeGroupName` that create collides with the group it replaces.
// - `version` follows the cluster's, so a control plane upgrade rolls the nodes onto the new
//   AMI (in place, `updateConfig.maxUnavailable` at a time).
// - The launch template requires IMDSv2 with a hop limit of 1: a pod (one network hop away from
//   the instance) cannot reach the instance metadata service and the node role's credentials.
//   hostNetwork pods (aws-node, the Pod Identity agent) still can. The node group pins the
//   template's latest version, so a template change rolls the nodes too.
// - The node role can join the cluster and pull images, nothing else: the VPC CNI has its own
//   role (addons.ts).
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Arch } from '../../registry/catalog/spec.ts';
import type { NodeGroupConfig } from '../config.ts';

export const AMI_TYPES: Record<Arch, string> = {
  amd64: 'AL2023_x86_64_STANDARD',
  arm64: 'AL2023_ARM_64_STANDARD',
};

export const NODE_ROLE_POLICIES = [
  'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy',
  'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
];

/** IMDSv2 only, unreachable from pods. */
export const NODE_METADATA_OPTIONS = {
  httpEndpoint: 'enabled',
  httpTokens: 'required',
  httpPutResponseHopLimit: 1,
  instanceMetadataTags: 'disabled',
};

export interface NodeGroupsArgs {
  clusterName: pulumi.Input<string>;
  /** The cluster's Kubernetes version (an output of the cluster, so nodes follow it). */
  version: pulumi.Input<string>;
  subnetIds: pulumi.Input<string>[];
  groups: Record<Arch, NodeGroupConfig>;
  /** What must exist before a node can become Ready (the CNI add-ons). */
  dependsOn: pulumi.Resource[];
}

const assumedByEc2 = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: 'ec2.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
    },
  ],
});

export function nodeGroups(
  name: string,
  args: NodeGroupsArgs,
  parent: pulumi.Resource,
): Record<Arch, aws.eks.NodeGroup> {
  const role = new aws.iam.Role(`${name}-node`, { assumeRolePolicy: assumedByEc2 }, { parent });
  const policies = NODE_ROLE_POLICIES.map(
    (policyArn) =>
      new aws.iam.RolePolicyAttachment(
        `${name}-node-${policyArn.split('/').pop()}`,
        { role: role.name, policyArn },
        { parent },
      ),
  );
  const group = (arch: Arch, config: NodeGroupConfig) => {
    const template = new aws.ec2.LaunchTemplate(
      `${name}-${arch}`,
      {
        description: `mcpfleet ${arch} nodes`,
        metadataOptions: NODE_METADATA_OPTIONS,
        blockDeviceMappings: [
          {
            // The AL2023 root volume.
            deviceName: '/dev/xvda',
            ebs: {
              volumeSize: config.diskSizeGiB,
              volumeType: 'gp3',
              encrypted: 'true',
              deleteOnTermination: 'true',
            },
          },
        ],
        tagSpecifications: [
          { resourceType: 'instance', tags: { 'mcpfleet.dev/node-pool': arch } },
          { resourceType: 'volume', tags: { 'mcpfleet.dev/node-pool': arch } },
        ],
      },
      { parent },
    );
    return new aws.eks.NodeGroup(
      `${name}-${arch}`,
      {
        clusterName: args.clusterName,
        version: args.version,
        nodeRoleArn: role.arn,
        subnetIds: args.subnetIds,
        amiType: AMI_TYPES[arch],
        instanceTypes: config.instanceTypes,
        capacityType: config.capacityType,
        launchTemplate: { id: template.id, version: template.latestVersion.apply(String) },
        scalingConfig: {
          minSize: config.minSize,
          desiredSize: config.desiredSize,
          maxSize: config.maxSize,
        },
        updateConfig: { maxUnavailable: 1 },
        labels: { 'mcpfleet.dev/node-pool': arch },
        tags: { 'mcpfleet.dev/node-pool': arch },
      },
      { parent, dependsOn: [...policies, ...args.dependsOn] },
    );
  };
  return { amd64: group('amd64', args.groups.amd64), arm64: group('arm64', args.groups.arm64) };
}
