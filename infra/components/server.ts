// One registry server as a workload: Deployment + Service + default-deny NetworkPolicy, and the
// volume claim of a server with storage, built by the pure `serverManifests`. The controller
// owns spec.replicas after creation (it wakes and sleeps the server through the scale
// subresource), so Pulumi ignores changes to it.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { WorkloadSpec } from '../../registry/catalog/spec.ts';
import { serverManifests, type ServerManifestOptions } from '../manifests/server.ts';

/** Resource option that hands spec.replicas to the controller. */
export const REPLICAS_OWNED_BY_CONTROLLER = ['spec.replicas'];

export interface ServerArgs extends ServerManifestOptions {
  spec: WorkloadSpec;
  /** Resources the Deployment must wait for (the baked image build, the server's Secrets). */
  dependsOn?: pulumi.Resource[];
  /** A baked image to run by digest: its tag, and the `<tag>@sha256:…` the push returned. */
  pinnedImage?: { tag: string; ref: pulumi.Input<string> };
}

/**
 * The Deployment with every container that runs the baked tag running the pinned reference
 * instead (the init container of a bundle runs a runner image, never a baked one).
 */
function pinImage(
  deployment: IDeployment,
  pinned: ServerArgs['pinnedImage'],
): k8s.apps.v1.DeploymentArgs {
  if (!pinned) return deployment as k8s.apps.v1.DeploymentArgs;
  const template = deployment.spec!.template;
  const pod = template.spec!;
  const containers = pod.containers.map((c) =>
    c.image === pinned.tag ? { ...c, image: pinned.ref } : c,
  );
  return {
    ...deployment,
    spec: { ...deployment.spec, template: { ...template, spec: { ...pod, containers } } },
  } as unknown as k8s.apps.v1.DeploymentArgs;
}

export class Server extends pulumi.ComponentResource {
  readonly deploymentName: string;

  constructor(name: string, args: ServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcpfleet:infra:Server', name, { slug: args.spec.slug }, opts);
    const manifests = serverManifests(args.spec, args);
    new k8s.core.v1.Service(`${name}-service`, manifests.service as k8s.core.v1.ServiceArgs, {
      parent: this,
    });
    new k8s.networking.v1.NetworkPolicy(
      `${name}-policy`,
      manifests.networkPolicy as k8s.networking.v1.NetworkPolicyArgs,
      {
        parent: this,
      },
    );
    // The server's files outlive the server's removal from the registry: deleting the
    // Deployment must not take its data (docs/runbooks/adding-a-server.md, removing one).
    const claim = manifests.persistentVolumeClaim
      ? new k8s.core.v1.PersistentVolumeClaim(
          `${name}-data`,
          manifests.persistentVolumeClaim as k8s.core.v1.PersistentVolumeClaimArgs,
          { parent: this, retainOnDelete: true },
        )
      : undefined;
    new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      pinImage(manifests.deployment, args.pinnedImage),
      {
        parent: this,
        ignoreChanges: REPLICAS_OWNED_BY_CONTROLLER,
        dependsOn: [...(args.dependsOn ?? []), ...(claim ? [claim] : [])],
      },
    );
    this.deploymentName = manifests.deployment.metadata!.name!;
    this.registerOutputs({});
  }
}
