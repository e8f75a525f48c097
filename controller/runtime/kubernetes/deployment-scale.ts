// Wake and sleep touch one thing: a server Deployment's scale subresource (the RBAC grants
// get/patch on deployments/scale and nothing on the Deployment itself). Pulumi ignores
// spec.replicas, so the two never fight over it.
import {
  AppsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';

export interface ScalePatch {
  deployment: string;
  from: number;
  to: number;
}

export class DeploymentScale {
  private readonly apps: AppsV1Api;
  private readonly namespace: string;

  constructor(kubeConfig: KubeConfig, namespace: string) {
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.namespace = namespace;
  }

  async replicas(deployment: string): Promise<number> {
    const scale = await this.apps.readNamespacedDeploymentScale({
      name: deployment,
      namespace: this.namespace,
    });
    return scale.spec?.replicas ?? 0;
  }

  /**
   * Sets spec.replicas when it differs (and `only` agrees); returns the patch sent, if any.
   * Reading first keeps a controller replica that arrives after the wake from patching again.
   */
  async scaleTo(
    deployment: string,
    replicas: number,
    only?: (current: number) => boolean,
  ): Promise<ScalePatch | undefined> {
    const current = await this.replicas(deployment);
    if (current === replicas || (only && !only(current))) return undefined;
    await this.apps.patchNamespacedDeploymentScale(
      {
        name: deployment,
        namespace: this.namespace,
        body: { spec: { replicas } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    return { deployment, from: current, to: replicas };
  }
}
