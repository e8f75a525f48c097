// The platform namespace, enforcing the restricted Pod Security Standard on every pod in it
// (controller, data stores, servers): a pod that drifts from the profile is rejected.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { namespaceManifest } from '../manifests/platform.ts';

export class FleetNamespace extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;

  constructor(name: string, args: { namespace: string }, opts?: pulumi.ComponentResourceOptions) {
    super('mcpfleet:infra:FleetNamespace', name, {}, opts);
    const namespace = new k8s.core.v1.Namespace(name, namespaceManifest(args.namespace), {
      parent: this,
    });
    this.name = namespace.metadata.name;
    this.registerOutputs({ name: this.name });
  }
}
