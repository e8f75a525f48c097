// The AWS Load Balancer Controller, which turns the `alb` Ingress into an ALB: a Helm release
// from aws/eks-charts in kube-system, with its AWS permissions through EKS Pod Identity (a role
// of its own service account; the node role has none of them).
// - region and VPC are given, not discovered: pods cannot reach the instance metadata service
//   (IMDSv2 hop limit 1, nodeGroups.ts).
// - The Service mutating webhook is off: it would make every Service creation in the cluster
//   depend on this controller's pods (failurePolicy Fail), and nothing here uses Services of
//   type LoadBalancer.
// - WAF, WAFv2 and Shield integrations are off, so the role needs none of their permissions.
// Pulumi waits for the release's pods to be ready, and the platform depends on the release: the
// Ingress is created after the controller (its validating webhook answers) and deleted before
// it on destroy (the controller removes the ALB and the Ingress's finalizer).
import * as aws from '@pulumi/aws';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { loadBalancerControllerPolicy } from './loadBalancerControllerPolicy.ts';
import { podIdentityRole } from './podIdentityRole.ts';

export const LBC_NAMESPACE = 'kube-system';
export const LBC_SERVICE_ACCOUNT = 'aws-load-balancer-controller';
export const EKS_CHARTS = 'https://aws.github.io/eks-charts';

export interface LoadBalancerControllerArgs {
  clusterName: pulumi.Input<string>;
  region: string;
  vpcId: pulumi.Input<string>;
  chartVersion: string;
}

export class LoadBalancerController extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;

  constructor(
    name: string,
    args: LoadBalancerControllerArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super('mcpfleet:infra:LoadBalancerController', name, {}, opts);
    const { role, attachments } = podIdentityRole(
      `${name}-role`,
      {
        policy: loadBalancerControllerPolicy(),
        description: 'AWS Load Balancer Controller: ALBs for Ingresses',
      },
      this,
    );
    const association = new aws.eks.PodIdentityAssociation(
      `${name}-identity`,
      {
        clusterName: args.clusterName,
        namespace: LBC_NAMESPACE,
        serviceAccount: LBC_SERVICE_ACCOUNT,
        roleArn: role.arn,
      },
      { parent: this, dependsOn: attachments },
    );
    this.release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: 'aws-load-balancer-controller',
        chart: 'aws-load-balancer-controller',
        version: args.chartVersion,
        repositoryOpts: { repo: EKS_CHARTS },
        namespace: LBC_NAMESPACE,
        values: {
          clusterName: args.clusterName,
          region: args.region,
          vpcId: args.vpcId,
          replicaCount: 2,
          serviceAccount: { create: true, name: LBC_SERVICE_ACCOUNT },
          enableServiceMutatorWebhook: false,
          enableShield: false,
          enableWaf: false,
          enableWafv2: false,
          defaultTargetType: 'ip',
        },
      },
      // Credentials must be in place before the pods start, or they cache a failure.
      { parent: this, dependsOn: [association] },
    );
    this.registerOutputs({});
  }
}
