// The default StorageClass of an EKS stack: encrypted gp3 volumes from the EBS CSI driver add-on.
// EKS creates no default class (its legacy gp2 class uses the in-tree provisioner and is not
// marked default), so a PVC without a class (the in-cluster data stores, a server's volume)
// would stay Pending. WaitForFirstConsumer creates the volume in the zone its pod runs in.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';

export const GP3_STORAGE_CLASS = 'gp3';

export class ClusterStorage extends pulumi.ComponentResource {
  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super('mcpfleet:infra:ClusterStorage', name, {}, opts);
    new k8s.storage.v1.StorageClass(
      `${name}-gp3`,
      {
        metadata: {
          name: GP3_STORAGE_CLASS,
          annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
        },
        provisioner: 'ebs.csi.aws.com',
        parameters: { type: 'gp3', encrypted: 'true', 'csi.storage.k8s.io/fstype': 'ext4' },
        volumeBindingMode: 'WaitForFirstConsumer',
        allowVolumeExpansion: true,
        reclaimPolicy: 'Delete',
      },
      { parent: this },
    );
    this.registerOutputs({});
  }
}
