// The three stacks: `dev` provisions a small, cheap EKS cluster of its own with node pools for
// both architectures (so arm64-pinned servers schedule), `prod` the full one, and `local` keeps
// the existing-cluster mode (kind, k3d, Docker Desktop) with no AWS resources.
import assert from 'node:assert/strict';
import { workloadName } from '../../registry/catalog/workload-names.ts';
import { STACKS } from '../../infra/render.ts';
import { RENDER_STACKS } from '../../controller/cli/commands/render.ts';
import { ofType } from './harness.ts';
import { starterSpecs } from './fixtures.ts';
import { k8sObject, stackRun, type Obj } from './runs.ts';

describe('stacks: dev is a real small EKS, local an existing cluster', function () {
  this.timeout(60_000);

  it('render and the CLI know local, dev and prod', () => {
    assert.deepEqual([...STACKS], ['local', 'dev', 'prod']);
    assert.deepEqual([...RENDER_STACKS], [...STACKS]);
  });

  it('dev: an EKS cluster with an amd64 and an arm64 spot node group, two zones, one NAT', async () => {
    const run = await stackRun('dev');
    assert.equal(ofType(run, 'aws:eks/cluster:Cluster').length, 1);
    const groups = ofType(run, 'aws:eks/nodeGroup:NodeGroup');
    assert.deepEqual(
      groups.map((g) => [
        (g.inputs.labels as Obj)['mcpfleet.dev/node-pool'],
        g.inputs.amiType,
        g.inputs.capacityType,
      ]),
      [
        ['amd64', 'AL2023_x86_64_STANDARD', 'SPOT'],
        ['arm64', 'AL2023_ARM_64_STANDARD', 'SPOT'],
      ],
    );
    for (const group of groups) {
      assert.ok(
        (group.inputs.instanceTypes as string[]).length >= 2,
        'a substitute when spot capacity goes',
      );
      assert.deepEqual(group.inputs.scalingConfig, { minSize: 1, desiredSize: 1, maxSize: 3 });
    }
    assert.equal(ofType(run, 'aws:ec2/natGateway:NatGateway').length, 1);
    assert.equal(ofType(run, 'aws:ec2/subnet:Subnet').length, 4, 'public + private in two zones');
  });

  it('dev: in-cluster data stores, no RDS or ElastiCache', async () => {
    const run = await stackRun('dev');
    assert.equal(ofType(run, 'aws:rds/instance:Instance').length, 0);
    assert.equal(ofType(run, 'aws:elasticache/replicationGroup:ReplicationGroup').length, 0);
    k8sObject(run, 'kubernetes:apps/v1:StatefulSet', 'mcpfleet-postgres');
    k8sObject(run, 'kubernetes:apps/v1:StatefulSet', 'mcpfleet-redis');
  });

  it('dev: arm64-pinned servers have an arm64 pool to run on', async () => {
    const run = await stackRun('dev');
    const pinned = (await starterSpecs()).filter(
      (s) => s.kind === 'workload' && s.nodeArch === 'arm64',
    );
    const pools = ofType(run, 'aws:eks/nodeGroup:NodeGroup').map(
      (g) => (g.inputs.labels as Obj)['mcpfleet.dev/node-pool'],
    );
    assert.ok(pools.includes('arm64'));
    for (const spec of pinned) {
      const deployment = k8sObject(run, 'kubernetes:apps/v1:Deployment', workloadName(spec.slug));
      assert.equal(
        (deployment.inputs.spec as Obj).template.spec.nodeSelector['kubernetes.io/arch'],
        'arm64',
      );
    }
  });

  it('local: an existing cluster through the kubeconfig, no AWS resource at all', async () => {
    const run = await stackRun('local');
    assert.deepEqual(
      run.resources.filter((r) => r.type.startsWith('aws:')).map((r) => r.type),
      [],
    );
    assert.equal(ofType(run, 'pulumi:providers:kubernetes')[0]!.inputs.context, 'kind-mcpfleet');
  });
});
