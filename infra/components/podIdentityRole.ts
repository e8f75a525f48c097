// An IAM role for one Kubernetes service account through EKS Pod Identity: trusted by the Pod
// Identity service only (no OIDC provider, no node credentials), with the policies it needs, and
// the association that hands it to the service account. Add-ons that take their association
// through `podIdentityAssociations` use the role alone (`podIdentityRole`).
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export const POD_IDENTITY_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
    },
  ],
});

export interface PodIdentityRoleArgs {
  /** AWS managed policies to attach. */
  managedPolicyArns?: string[];
  /** An inline policy document (JSON) for what no managed policy covers. */
  policy?: pulumi.Input<string>;
  description: string;
}

/** The role and its policies; returns the role and everything it needs before it works. */
export function podIdentityRole(
  name: string,
  args: PodIdentityRoleArgs,
  parent: pulumi.Resource,
): { role: aws.iam.Role; attachments: pulumi.Resource[] } {
  const role = new aws.iam.Role(
    name,
    { assumeRolePolicy: POD_IDENTITY_TRUST, description: args.description },
    { parent },
  );
  const attachments: pulumi.Resource[] = (args.managedPolicyArns ?? []).map(
    (policyArn) =>
      new aws.iam.RolePolicyAttachment(
        `${name}-${policyArn.split('/').pop()}`,
        { role: role.name, policyArn },
        { parent },
      ),
  );
  if (args.policy) {
    const policy = new aws.iam.Policy(name, { policy: args.policy }, { parent });
    attachments.push(
      new aws.iam.RolePolicyAttachment(
        `${name}-own`,
        { role: role.name, policyArn: policy.arn },
        { parent },
      ),
    );
  }
  return { role, attachments };
}
