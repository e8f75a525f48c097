// Kubernetes Secrets that servers' secretEnv refers to, filled from the stack's encrypted config
// (`mcpfleet:serverSecrets`, `secure:` values). The values never appear in a ConfigMap, an env
// value or a manifest: pods get them through secretKeyRef.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { WorkloadSpec } from '../../registry/catalog/spec.ts';
import { platformLabels } from '../../registry/catalog/workload-names.ts';

export interface ServerSecretsArgs {
  namespace: string;
  values: Record<string, Record<string, string>>;
  specs: readonly WorkloadSpec[];
}

export class ServerSecrets extends pulumi.ComponentResource {
  /** Secret resource by Kubernetes name, so a server's Deployment can depend on its Secrets. */
  readonly byName = new Map<string, k8s.core.v1.Secret>();

  constructor(name: string, args: ServerSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcpfleet:infra:ServerSecrets', name, {}, opts);
    for (const [secretName, data] of Object.entries(args.values).sort(([a], [b]) =>
      a.localeCompare(b),
    )) {
      const stringData = Object.fromEntries(
        Object.entries(data).map(([key, value]) => [key, pulumi.secret(value)]),
      );
      const secret = new k8s.core.v1.Secret(
        `${name}-${secretName}`,
        {
          metadata: {
            name: secretName,
            namespace: args.namespace,
            labels: platformLabels(secretName, 'server-secret'),
          },
          type: 'Opaque',
          stringData,
        },
        { parent: this },
      );
      this.byName.set(secretName, secret);
    }
    // A reference without a value is not fatal (the Secret may be managed elsewhere, e.g. by
    // External Secrets), but the pod cannot start until it exists, so say so at deploy time.
    for (const spec of args.specs) {
      for (const ref of spec.secretEnv) {
        if (args.values[ref.secretName]?.[ref.key] === undefined) {
          void pulumi.log.warn(
            `server ${spec.slug}: Secret ${ref.secretName} key ${ref.key} (env ${ref.env}) is not in mcpfleet:serverSecrets; create it out of band or the pod will not start`,
            this,
          );
        }
      }
    }
    this.registerOutputs({});
  }
}
