// Tests on the shared control plane each use namespaces of their own and must leave nothing
// running: a Deployment left at 1 replica after its kubelet stopped would have its pods scheduled
// onto the next test's nodes. Delete the namespace while the kubelet still runs (so it ends the
// pods gracefully), and wait until its pods are gone.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

export async function deleteNamespaceAndWait(
  kubeConfig: KubeConfig,
  namespace: string,
  timeoutMs = 30_000,
): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pods = await core.listNamespacedPod({ namespace }).catch(() => ({ items: [] }));
    if (pods.items.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`namespace ${namespace}: pods still present ${timeoutMs} ms after deletion`);
}
