// The one Kubernetes provider every platform and server resource uses: the new EKS cluster's
// kubeconfig, or an existing cluster's (inline from config, or the ambient ~/.kube/config).
// On EKS it depends on what access and scheduling need (Cluster.ready): a resource waits for
// its provider, and a destroy deletes the resources before the provider's dependencies.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { StackConfig } from '../config.ts';

export function kubernetesProvider(
  config: StackConfig['cluster'],
  eksKubeconfig: pulumi.Output<string> | undefined,
  opts?: pulumi.CustomResourceOptions,
): k8s.Provider {
  if (config.mode === 'eks') {
    return new k8s.Provider('cluster', { kubeconfig: eksKubeconfig! }, opts);
  }
  return new k8s.Provider(
    'cluster',
    {
      ...(config.kubeconfig ? { kubeconfig: pulumi.secret(config.kubeconfig) } : {}),
      ...(config.context ? { context: config.context } : {}),
    },
    opts,
  );
}
