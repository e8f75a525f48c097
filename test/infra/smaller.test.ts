// Issue 8, point 13 (the smaller ones): the control plane's log group has a retention and exists
// before EKS would create it without one; the public API endpoint has no default range, and the
// committed ranges are documentation examples (RFC 5737), not someone's real network.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseConfig } from '../../infra/config.ts';
import { readStackFile } from '../../infra/render.ts';
import { ofType } from './harness.ts';
import { resource, stackRun, type Obj } from './runs.ts';

/** TEST-NET-1/2/3 (RFC 5737). */
const DOCUMENTATION = [/^192\.0\.2\./, /^198\.51\.100\./, /^203\.0\.113\./];

describe('issue 8.13: log retention, the public endpoint ranges', function () {
  this.timeout(60_000);

  for (const stack of ['dev', 'prod'] as const) {
    it(`${stack}: the control plane logs go to a log group with the configured retention, created first`, async () => {
      const run = await stackRun(stack);
      const config = readStackFile(stack).cluster;
      assert.equal(config.mode, 'eks');
      if (config.mode !== 'eks') return;
      const logs = resource(run, 'aws:cloudwatch/logGroup:LogGroup', 'cluster-logs');
      assert.equal(logs.inputs.name, `/aws/eks/${config.name}/cluster`);
      assert.equal(logs.inputs.retentionInDays, config.logRetentionDays);
      const [cluster] = ofType(run, 'aws:eks/cluster:Cluster');
      assert.ok(cluster!.dependencies.includes(logs.urn));
      assert.deepEqual(cluster!.inputs.enabledClusterLogTypes, ['api', 'audit', 'authenticator']);
    });

    it(`${stack}: the committed public access ranges are documentation examples, passed to EKS`, async () => {
      const yaml = parse(readFileSync(`Pulumi.${stack}.yaml`, 'utf8')).config as Obj;
      const cidrs = yaml['mcpfleet:cluster'].publicAccessCidrs as string[];
      assert.ok(cidrs.length > 0);
      for (const cidr of cidrs)
        assert.ok(
          DOCUMENTATION.some((range) => range.test(cidr)),
          `${cidr} is not an RFC 5737 example`,
        );
      const [cluster] = ofType(await stackRun(stack), 'aws:eks/cluster:Cluster');
      assert.deepEqual((cluster!.inputs.vpcConfig as Obj).publicAccessCidrs, cidrs);
    });
  }

  it('a public endpoint needs its ranges written down: there is no 0.0.0.0/0 default', () => {
    const config = structuredClone(readStackFile('prod')) as Obj;
    delete config.cluster.publicAccessCidrs;
    assert.throws(
      () => parseConfig(config),
      /mcpfleet:cluster\.publicAccessCidrs: required when endpointPublicAccess is true/,
    );
    config.cluster.endpointPublicAccess = false;
    assert.equal(parseConfig(config).cluster.mode, 'eks', 'a private endpoint needs none');
  });

  it('refuses a retention CloudWatch does not offer', () => {
    const config = structuredClone(readStackFile('prod')) as Obj;
    config.cluster.logRetentionDays = 45;
    assert.throws(() => parseConfig(config), /mcpfleet:cluster\.logRetentionDays: expected one of/);
  });
});
