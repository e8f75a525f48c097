// The EKS managed add-ons, at pinned versions. Two groups, because of what they need to start:
// - before the nodes: vpc-cni (pod networking; a node is not Ready without it), kube-proxy, and
//   the Pod Identity agent (hostNetwork DaemonSets, so they run on a node that has no CNI yet);
// - after the nodes: coredns and the EBS CSI driver run ordinary pods; created before any node
//   exists they stay DEGRADED until the provider's wait times out.
// EKS installs self-managed vpc-cni, kube-proxy and coredns with a new cluster; adopting them
// as managed add-ons needs `resolveConflictsOnCreate: OVERWRITE` (the default, NONE, fails).
// The AWS permissions of vpc-cni and the EBS CSI driver are roles of their own service accounts
// (Pod Identity), never the node role: a pod that reaches the node's credentials gets no
// network or volume powers.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { EksClusterConfig } from '../config.ts';
import { podIdentityRole } from './podIdentityRole.ts';

const CNI_POLICY = 'arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy';
const EBS_CSI_POLICY = 'arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy';

function addon(
  name: string,
  args: {
    clusterName: pulumi.Input<string>;
    addonName: string;
    addonVersion: string;
    configurationValues?: object;
    podIdentityAssociations?: aws.types.input.eks.AddonPodIdentityAssociation[];
  },
  opts: pulumi.CustomResourceOptions,
): aws.eks.Addon {
  return new aws.eks.Addon(
    name,
    {
      clusterName: args.clusterName,
      addonName: args.addonName,
      addonVersion: args.addonVersion,
      resolveConflictsOnCreate: 'OVERWRITE',
      resolveConflictsOnUpdate: 'OVERWRITE',
      ...(args.configurationValues
        ? { configurationValues: JSON.stringify(args.configurationValues) }
        : {}),
      ...(args.podIdentityAssociations
        ? { podIdentityAssociations: args.podIdentityAssociations }
        : {}),
    },
    opts,
  );
}

/** vpc-cni, kube-proxy and the Pod Identity agent: what a node needs to become Ready. */
export function nodeAddons(
  name: string,
  clusterName: pulumi.Input<string>,
  versions: EksClusterConfig['addons'],
  parent: pulumi.Resource,
): aws.eks.Addon[] {
  const podIdentityAgent = addon(
    `${name}-eks-pod-identity-agent`,
    { clusterName, addonName: 'eks-pod-identity-agent', addonVersion: versions.podIdentityAgent },
    { parent },
  );
  const cni = podIdentityRole(
    `${name}-vpc-cni`,
    { managedPolicyArns: [CNI_POLICY], description: 'VPC CNI (aws-node): pod networking' },
    parent,
  );
  const vpcCni = addon(
    `${name}-vpc-cni`,
    {
      clusterName,
      addonName: 'vpc-cni',
      addonVersion: versions.vpcCni,
      // Every server relies on default-deny NetworkPolicy; the VPC CNI enforces it only when asked.
      configurationValues: { enableNetworkPolicy: 'true' },
      podIdentityAssociations: [{ roleArn: cni.role.arn, serviceAccount: 'aws-node' }],
    },
    // aws-node gets its credentials from the agent, so the agent comes first.
    { parent, dependsOn: [podIdentityAgent, ...cni.attachments] },
  );
  const kubeProxy = addon(
    `${name}-kube-proxy`,
    { clusterName, addonName: 'kube-proxy', addonVersion: versions.kubeProxy },
    { parent },
  );
  return [podIdentityAgent, vpcCni, kubeProxy];
}

/** coredns and the EBS CSI driver: ordinary pods, so they wait for the node groups. */
export function workloadAddons(
  name: string,
  clusterName: pulumi.Input<string>,
  versions: EksClusterConfig['addons'],
  parent: pulumi.Resource,
  nodes: pulumi.Resource[],
): aws.eks.Addon[] {
  const coredns = addon(
    `${name}-coredns`,
    { clusterName, addonName: 'coredns', addonVersion: versions.coredns },
    { parent, dependsOn: nodes },
  );
  const ebs = podIdentityRole(
    `${name}-ebs-csi`,
    {
      managedPolicyArns: [EBS_CSI_POLICY],
      description: 'EBS CSI driver controller: volumes for PVCs',
    },
    parent,
  );
  const ebsCsi = addon(
    `${name}-aws-ebs-csi-driver`,
    {
      clusterName,
      addonName: 'aws-ebs-csi-driver',
      addonVersion: versions.ebsCsiDriver,
      podIdentityAssociations: [{ roleArn: ebs.role.arn, serviceAccount: 'ebs-csi-controller-sa' }],
    },
    { parent, dependsOn: [...nodes, ...ebs.attachments] },
  );
  return [coredns, ebsCsi];
}
