// Where the controller finds the Kubernetes API: an explicit kubeconfig file (--kubeconfig,
// KUBECONFIG), else the pod's own ServiceAccount (in-cluster), else ~/.kube/config.
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(options: { kubeconfig?: string | undefined } = {}): KubeConfig {
  const config = new KubeConfig();
  if (options.kubeconfig) {
    config.loadFromFile(options.kubeconfig);
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    config.loadFromCluster();
  } else {
    config.loadFromDefault();
  }
  if (!config.getCurrentCluster()) {
    throw new Error(
      'no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a pod',
    );
  }
  return config;
}
