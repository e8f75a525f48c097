// The controller (MCP gateway + scaler): identity with least-privilege RBAC, the compiled
// registry as ConfigMaps, its Deployment spread across zones, PDB, Service and TLS Ingress.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { ServerSpec } from '../../registry/catalog/spec.ts';
import type { ControllerConfig, IngressConfig } from '../config.ts';
import {
  controllerDeployment,
  controllerIngress,
  controllerPodDisruptionBudget,
  controllerRole,
  controllerRoleBinding,
  controllerService,
  controllerServiceAccount,
  registryConfigMaps,
} from '../manifests/platform.ts';

export interface PlatformArgs {
  namespace: string;
  specs: readonly ServerSpec[];
  controller: ControllerConfig;
  ingress: IngressConfig;
  /** Bumped with a password rotation so controller pods restart and pick up new Secrets. */
  secretsRevision: string;
}

export class Platform extends pulumi.ComponentResource {
  readonly gatewayUrl: pulumi.Output<string>;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcpfleet:infra:Platform', name, {}, opts);
    const parent = { parent: this };
    const { namespace } = args;
    const gatewayUrl = `https://${args.ingress.host}`;

    const account = new k8s.core.v1.ServiceAccount(
      `${name}-controller`,
      controllerServiceAccount(namespace),
      parent,
    );
    const role = new k8s.rbac.v1.Role(
      `${name}-controller`,
      controllerRole(namespace) as k8s.rbac.v1.RoleArgs,
      parent,
    );
    const binding = new k8s.rbac.v1.RoleBinding(
      `${name}-controller`,
      controllerRoleBinding(namespace),
      {
        parent: this,
        dependsOn: [role, account],
      },
    );
    const shards = registryConfigMaps(args.specs, namespace);
    const configMaps = shards.map(
      (shard) => new k8s.core.v1.ConfigMap(shard.metadata!.name!, shard, parent),
    );
    const deployment = controllerDeployment({
      namespace,
      controller: args.controller,
      gatewayUrl,
      registryConfigMaps: shards.map((s) => s.metadata!.name!),
      secretsRevision: args.secretsRevision,
    });
    new k8s.apps.v1.Deployment(`${name}-controller`, deployment as k8s.apps.v1.DeploymentArgs, {
      parent: this,
      dependsOn: [binding, ...configMaps],
    });
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-controller`,
      controllerPodDisruptionBudget(namespace),
      parent,
    );
    new k8s.core.v1.Service(`${name}-controller`, controllerService(namespace), parent);
    new k8s.networking.v1.Ingress(
      `${name}-controller`,
      controllerIngress(namespace, args.ingress),
      parent,
    );
    this.gatewayUrl = pulumi.output(gatewayUrl);
    this.registerOutputs({ gatewayUrl: this.gatewayUrl });
  }
}
