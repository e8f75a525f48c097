// The controller (MCP gateway + scaler): identity with least-privilege RBAC, the compiled
// registry as ConfigMaps, its Deployment spread across zones, PDB, Service, the NetworkPolicy
// that says who may connect to it, and the TLS Ingress (manifests/ingress.ts).
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { ServerSpec } from '../../registry/catalog/spec.ts';
import type { AuditConfig } from '../audit-config.ts';
import type { AuthConfig } from '../auth-config.ts';
import type { ControllerConfig, IngressConfig } from '../config.ts';
import {
  controllerNetworkPolicy,
  type IngressSources,
} from '../manifests/controllerNetworkPolicy.ts';
import { ALB_CERTIFICATE_ANNOTATION, controllerIngress } from '../manifests/ingress.ts';
import {
  controllerDeployment,
  controllerPodDisruptionBudget,
  controllerRole,
  controllerRoleBinding,
  controllerService,
  controllerServiceAccount,
  registryConfigMaps,
} from '../manifests/platform.ts';
import { platformPolicyConfigMap, type PlatformPolicy } from '../manifests/platformPolicy.ts';
import { KeyHashingSecret } from './keyHashingSecret.ts';

export interface PlatformArgs {
  namespace: string;
  specs: readonly ServerSpec[];
  controller: ControllerConfig;
  /** Who may call the controller; the key-hashing secret is made here unless insecureNoAuth. */
  auth: AuthConfig;
  /** The platform policy file, read and checked by Cedar at preview (infra/platform-policy.ts). */
  platformPolicy?: PlatformPolicy;
  audit: AuditConfig;
  ingress: IngressConfig;
  /** Bumped with a password rotation so controller pods restart and pick up new Secrets. */
  secretsRevision: string;
  /** Where the ingress controller's connections come from (the controller's NetworkPolicy). */
  ingressSources: IngressSources;
  /** The validated ACM certificate, for an `alb` ingress. */
  certificateArn?: pulumi.Input<string>;
  /**
   * What the Ingress needs running while it exists: its ingress controller (whose webhook
   * admits it and which removes its finalizer and load balancer when it is deleted).
   */
  ingressController?: pulumi.Resource;
  /** The data stores shipped a database CA bundle (DATABASE_CA_CONFIGMAP) to mount. */
  databaseCa: boolean;
}

export class Platform extends pulumi.ComponentResource {
  readonly gatewayUrl: pulumi.Output<string>;
  /** The load balancer's DNS name, once the ingress controller has provisioned it. */
  readonly loadBalancerHostname: pulumi.Output<string>;

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
    const keyHashing = args.auth.insecureNoAuth
      ? []
      : [
          new KeyHashingSecret(
            `${name}-key-hashing`,
            { namespace, rotation: args.auth.keyHashingSecretRotation },
            parent,
          ).secret,
        ];
    const policy = args.platformPolicy
      ? [
          new k8s.core.v1.ConfigMap(
            `${name}-platform-policy`,
            platformPolicyConfigMap(namespace, args.platformPolicy),
            parent,
          ),
        ]
      : [];
    const deployment = controllerDeployment({
      namespace,
      controller: args.controller,
      auth: args.auth,
      ...(args.platformPolicy ? { platformPolicy: args.platformPolicy } : {}),
      audit: args.audit,
      gatewayUrl,
      registryConfigMaps: shards.map((s) => s.metadata!.name!),
      secretsRevision: args.secretsRevision,
      databaseCa: args.databaseCa,
    });
    new k8s.apps.v1.Deployment(`${name}-controller`, deployment as k8s.apps.v1.DeploymentArgs, {
      parent: this,
      dependsOn: [binding, ...configMaps, ...policy, ...keyHashing],
    });
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-controller`,
      controllerPodDisruptionBudget(namespace),
      parent,
    );
    new k8s.core.v1.Service(`${name}-controller`, controllerService(namespace), parent);
    new k8s.networking.v1.NetworkPolicy(
      `${name}-controller`,
      controllerNetworkPolicy({
        namespace,
        ingress: args.ingressSources,
        metricsNamespace: args.controller.metricsNamespace,
      }) as k8s.networking.v1.NetworkPolicyArgs,
      parent,
    );
    const manifest = controllerIngress(namespace, args.ingress);
    const ingressArgs: k8s.networking.v1.IngressArgs = args.certificateArn
      ? {
          ...manifest,
          metadata: {
            ...manifest.metadata,
            annotations: {
              ...manifest.metadata!.annotations,
              [ALB_CERTIFICATE_ANNOTATION]: args.certificateArn,
            },
          },
        }
      : manifest;
    // Pulumi waits for the Ingress to get its load balancer address (and for the Service
    // behind it to have endpoints), so the hostname is known when the DNS record is written.
    const ingress = new k8s.networking.v1.Ingress(`${name}-controller`, ingressArgs, {
      parent: this,
      dependsOn: args.ingressController ? [args.ingressController] : [],
    });
    this.loadBalancerHostname = ingress.status.apply(
      (status) => status?.loadBalancer?.ingress?.[0]?.hostname ?? '',
    );
    this.gatewayUrl = pulumi.output(gatewayUrl);
    this.registerOutputs({
      gatewayUrl: this.gatewayUrl,
      loadBalancerHostname: this.loadBalancerHostname,
    });
  }
}
