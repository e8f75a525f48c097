// Issue 8, point 4: with `bootstrapClusterCreatorAdminPermissions: false` the identity running
// `pulumi up` can reach the cluster only once its access policy association exists. The
// Kubernetes provider depends on every association, so no object is sent before (first up:
// 401/403) and a destroy deletes the objects before it revokes access. It also waits for the
// node groups and the add-ons that pods need.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ofType } from './harness.ts';
import { stackRun, urnsOf, type Obj } from './runs.ts';

describe('issue 8.4: the Kubernetes provider waits for cluster access', function () {
  this.timeout(60_000);

  for (const stack of ['dev', 'prod'] as const) {
    it(`${stack}: depends on every admin's access policy association, the node groups and the pod add-ons`, async () => {
      const run = await stackRun(stack);
      const [cluster] = ofType(run, 'aws:eks/cluster:Cluster');
      assert.equal(
        (cluster!.inputs.accessConfig as Obj).bootstrapClusterCreatorAdminPermissions,
        false,
      );
      const admins = (parse(readFileSync(`Pulumi.${stack}.yaml`, 'utf8')).config as Obj)[
        'mcpfleet:cluster'
      ].adminPrincipalArns as string[];
      const associations = ofType(run, 'aws:eks/accessPolicyAssociation:AccessPolicyAssociation');
      assert.deepEqual(
        associations.map((a) => a.inputs.principalArn),
        admins,
      );
      const [provider] = ofType(run, 'pulumi:providers:kubernetes');
      for (const urn of urnsOf(run, 'aws:eks/accessPolicyAssociation:AccessPolicyAssociation'))
        assert.ok(provider!.dependencies.includes(urn), `provider does not wait for ${urn}`);
      for (const urn of urnsOf(run, 'aws:eks/nodeGroup:NodeGroup'))
        assert.ok(provider!.dependencies.includes(urn), `provider does not wait for ${urn}`);
      const addons = ofType(run, 'aws:eks/addon:Addon');
      for (const name of ['coredns', 'aws-ebs-csi-driver']) {
        const addon = addons.find((a) => a.inputs.addonName === name)!;
        assert.ok(provider!.dependencies.includes(addon.urn), `provider does not wait for ${name}`);
      }
    });
  }

  it('local: an existing cluster has nothing to wait for', async () => {
    const [provider] = ofType(await stackRun('local'), 'pulumi:providers:kubernetes');
    assert.deepEqual(provider!.dependencies, []);
  });
});
