// Issue 8, point 5: the EKS add-ons as managed add-ons at pinned versions. vpc-cni, kube-proxy
// and coredns already run self-managed on a new cluster: adopting them needs OVERWRITE. In-cluster
// PVCs need the EBS CSI driver and a StorageClass it provisions (gp3, the default); Pod Identity
// needs its agent. The order follows what each needs to start.
import assert from 'node:assert/strict';
import { readStackFile } from '../../infra/render.ts';
import { ofType, type Recorded } from './harness.ts';
import { addonIdentity, k8sObject, stackRun, type Obj } from './runs.ts';

const ADDONS = {
  'vpc-cni': 'vpcCni',
  'kube-proxy': 'kubeProxy',
  coredns: 'coredns',
  'eks-pod-identity-agent': 'podIdentityAgent',
  'aws-ebs-csi-driver': 'ebsCsiDriver',
} as const;

describe('issue 8.5: add-ons', function () {
  this.timeout(60_000);

  for (const stack of ['dev', 'prod'] as const) {
    it(`${stack}: vpc-cni, kube-proxy, coredns, the EBS CSI driver and the Pod Identity agent, pinned, adopting what EKS installed`, async () => {
      const run = await stackRun(stack);
      const cluster = readStackFile(stack).cluster;
      assert.equal(cluster.mode, 'eks');
      const addons = ofType(run, 'aws:eks/addon:Addon');
      assert.deepEqual(addons.map((a) => a.inputs.addonName).sort(), Object.keys(ADDONS).sort());
      for (const addon of addons) {
        const key = ADDONS[addon.inputs.addonName as keyof typeof ADDONS];
        if (cluster.mode === 'eks') assert.equal(addon.inputs.addonVersion, cluster.addons[key]);
        assert.equal(
          addon.inputs.resolveConflictsOnCreate,
          'OVERWRITE',
          String(addon.inputs.addonName),
        );
        assert.equal(addon.inputs.resolveConflictsOnUpdate, 'OVERWRITE');
      }
    });

    it(`${stack}: the node add-ons come before the nodes, coredns and the EBS CSI driver after them`, async () => {
      const run = await stackRun(stack);
      const addon = (name: string) =>
        ofType(run, 'aws:eks/addon:Addon').find((a) => a.inputs.addonName === name)!;
      const groups = ofType(run, 'aws:eks/nodeGroup:NodeGroup');
      const dependsOn = (r: Recorded, on: Recorded) => r.dependencies.includes(on.urn);
      for (const group of groups) {
        for (const name of ['vpc-cni', 'kube-proxy', 'eks-pod-identity-agent'])
          assert.ok(dependsOn(group, addon(name)), `${group.name} before ${name}`);
      }
      for (const name of ['coredns', 'aws-ebs-csi-driver'])
        for (const group of groups) assert.ok(dependsOn(addon(name), group), `${name} after nodes`);
      assert.ok(
        dependsOn(addon('vpc-cni'), addon('eks-pod-identity-agent')),
        'aws-node gets its credentials from the agent',
      );
    });

    it(`${stack}: the EBS CSI controller has a role of its own, and gp3 is the default StorageClass`, async () => {
      const run = await stackRun(stack);
      assert.deepEqual(addonIdentity(run, 'aws-ebs-csi-driver'), {
        serviceAccount: 'ebs-csi-controller-sa',
        trustsPodIdentity: true,
        policies: ['arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy'],
      });
      const gp3 = k8sObject(run, 'kubernetes:storage.k8s.io/v1:StorageClass', 'gp3');
      assert.equal(gp3.inputs.provisioner, 'ebs.csi.aws.com');
      assert.deepEqual(gp3.inputs.parameters, {
        type: 'gp3',
        encrypted: 'true',
        'csi.storage.k8s.io/fstype': 'ext4',
      });
      assert.equal(gp3.inputs.volumeBindingMode, 'WaitForFirstConsumer');
      assert.equal(
        (gp3.inputs.metadata as Obj).annotations['storageclass.kubernetes.io/is-default-class'],
        'true',
      );
    });
  }

  it('dev: the in-cluster data stores claim gp3 volumes, after the StorageClass exists', async () => {
    const run = await stackRun('dev');
    const gp3 = k8sObject(run, 'kubernetes:storage.k8s.io/v1:StorageClass', 'gp3');
    for (const name of ['mcpfleet-postgres', 'mcpfleet-redis']) {
      const set = k8sObject(run, 'kubernetes:apps/v1:StatefulSet', name);
      assert.equal((set.inputs.spec as Obj).volumeClaimTemplates[0].spec.storageClassName, 'gp3');
    }
    const [store] = ofType(run, 'mcpfleet:infra:InClusterDataStores');
    assert.ok(store!.dependencies.includes(gp3.urn));
  });
});
