// "kubectl auth can-i --as=system:serviceaccount:<ns>:<name>": a SubjectAccessReview that the
// real authorizer (RBAC) answers for a ServiceAccount, with the groups its tokens carry.
import type { Applier } from './apply.ts';

export interface Access {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
}

export const describeAccess = (a: Access): string =>
  `${a.verb} ${a.group ? `${a.group}/` : ''}${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;

export async function serviceAccountCan(
  applier: Applier,
  account: { namespace: string; name: string },
  access: Access,
): Promise<{ allowed: boolean; reason?: string }> {
  const review = await applier.request<{ status?: { allowed?: boolean; reason?: string } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: `system:serviceaccount:${account.namespace}:${account.name}`,
        groups: [
          'system:serviceaccounts',
          `system:serviceaccounts:${account.namespace}`,
          'system:authenticated',
        ],
        resourceAttributes: {
          namespace: account.namespace,
          verb: access.verb,
          group: access.group,
          resource: access.resource,
          ...(access.subresource ? { subresource: access.subresource } : {}),
        },
      },
    },
  );
  return {
    allowed: review.status?.allowed === true,
    ...(review.status?.reason ? { reason: review.status.reason } : {}),
  };
}
