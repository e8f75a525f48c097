// Issue 8, point 6: what breaks the second and later `pulumi up`s (and destroys):
// - an RDS minor version pinned while RDS upgrades minors itself plans a downgrade: major only;
// - a node group with a fixed name cannot be replaced (the replacement is created first, under
//   the same name): Pulumi names them; launch templates carry the node settings; `version`
//   follows the cluster so an upgrade rolls the nodes;
// - a fixed final snapshot name collides on the second destroy of a re-created stack.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../infra/config.ts';
import { readStackFile } from '../../infra/render.ts';
import { ofType } from './harness.ts';
import { resource, stackRun, type Obj } from './runs.ts';

describe('issue 8.6: later ups plan no downgrade, no name collision', function () {
  this.timeout(60_000);

  it('prod: PostgreSQL names its major version only, and the config refuses a minor', async () => {
    const run = await stackRun('prod');
    const [db] = ofType(run, 'aws:rds/instance:Instance');
    assert.equal(db!.inputs.engineVersion, '17');
    assert.equal(db!.inputs.autoMinorVersionUpgrade, true);
    const [parameters] = ofType(run, 'aws:rds/parameterGroup:ParameterGroup');
    assert.equal(parameters!.inputs.family, 'postgres17');
    const config = structuredClone(readStackFile('prod')) as Obj;
    config.dataStores.postgres.engineVersion = '17.5';
    assert.throws(
      () => parseConfig(config),
      /mcpfleet:dataStores\.postgres\.engineVersion: expected a major version such as "17"/,
    );
  });

  it('prod: the final snapshot is named with a suffix of its own stack life', async () => {
    const run = await stackRun('prod');
    const [db] = ofType(run, 'aws:rds/instance:Instance');
    const suffix = resource(run, 'random:index/randomId:RandomId', 'data-postgres-final-snapshot');
    assert.equal(suffix.inputs.keepers, undefined, 'stable across ups: no keepers');
    assert.match(String(db!.inputs.finalSnapshotIdentifier), /^data-postgres-final-[0-9a-f]{8}$/);
    assert.ok(db!.dependencies.includes(suffix.urn));
  });

  for (const stack of ['dev', 'prod'] as const) {
    it(`${stack}: node groups are named by Pulumi, run a launch template of their own and follow the cluster version`, async () => {
      const run = await stackRun(stack);
      const [cluster] = ofType(run, 'aws:eks/cluster:Cluster');
      const templates = ofType(run, 'aws:ec2/launchTemplate:LaunchTemplate');
      const groups = ofType(run, 'aws:eks/nodeGroup:NodeGroup');
      assert.equal(groups.length, 2);
      const wanted = readStackFile(stack).nodeGroups!;
      for (const group of groups) {
        const arch = (group.inputs.labels as Obj)['mcpfleet.dev/node-pool'] as 'amd64' | 'arm64';
        assert.equal(group.inputs.nodeGroupName, undefined, `${arch}: a fixed name`);
        assert.equal(group.inputs.nodeGroupNamePrefix, undefined);
        assert.equal(group.inputs.version, cluster!.inputs.version);
        assert.ok(group.dependencies.includes(cluster!.urn));
        assert.equal(group.inputs.diskSize, undefined, 'the launch template sizes the disk');
        const template = templates.find((t) => t.name === `cluster-${arch}`)!;
        assert.deepEqual(group.inputs.launchTemplate, { id: `${template.name}-id`, version: '1' });
        const disk = (template.inputs.blockDeviceMappings as Obj[])[0]!;
        assert.equal(disk.ebs.volumeSize, wanted[arch].diskSizeGiB);
        assert.equal(disk.ebs.encrypted, 'true');
        assert.deepEqual(group.inputs.updateConfig, { maxUnavailable: 1 });
      }
    });
  }

  it('the capacity runbook says what an instance type change does: a new node group, then the old one drained', () => {
    const runbook = readFileSync('docs/runbooks/adding-architecture-capacity.md', 'utf8');
    assert.doesNotMatch(
      runbook,
      /instanceTypes` change replaces the node group's launch\s+config and rolls nodes one at a time/,
    );
    assert.match(runbook, /replace/);
    assert.match(runbook, /new node group/);
  });
});
