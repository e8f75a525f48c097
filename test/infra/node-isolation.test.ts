// Issue 8, point 10: what a server (a fetch-style one that calls any URL) must not reach:
// - CIDR egress rules keep the private-range exceptions a host rule has (the instance metadata
//   service, the VPC with the data stores and nodes, the EKS private endpoint);
// - the instance metadata service itself: IMDSv2 only, hop limit 1 (a pod is one hop further);
// - the node role's powers: the VPC CNI's AWS permissions live on its own Pod Identity role.
import assert from 'node:assert/strict';
import { egressRules, PRIVATE_RANGES, privateExceptions } from '../../infra/manifests/egress.ts';
import { serverManifests } from '../../infra/manifests/server.ts';
import { readStackFile } from '../../infra/render.ts';
import { ofType } from './harness.ts';
import { workload } from './fixtures.ts';
import { addonIdentity, stackRun, type Obj } from './runs.ts';

describe('issue 8.10: egress holes closed', function () {
  this.timeout(60_000);

  it('a 0.0.0.0/0 CIDR rule excepts every private range, like a host rule', () => {
    const [, everything] = egressRules([{ cidr: '0.0.0.0/0', ports: [443] }]);
    assert.deepEqual(everything, {
      to: [{ ipBlock: { cidr: '0.0.0.0/0', except: PRIVATE_RANGES } }],
      ports: [{ protocol: 'TCP', port: 443 }],
    });
    assert.ok(PRIVATE_RANGES.includes('169.254.0.0/16'), 'instance metadata');
    assert.ok(PRIVATE_RANGES.includes('10.0.0.0/8'), 'the VPCs of both EKS stacks');
  });

  it('a wider CIDR excepts the private ranges inside it; a private CIDR written on purpose stays', () => {
    assert.deepEqual(privateExceptions('0.0.0.0/1'), ['10.0.0.0/8', '100.64.0.0/10']);
    assert.deepEqual(privateExceptions('128.0.0.0/1'), [
      '172.16.0.0/12',
      '192.168.0.0/16',
      '169.254.0.0/16',
    ]);
    assert.deepEqual(privateExceptions('8.8.8.0/24'), []);
    assert.deepEqual(privateExceptions('10.1.0.0/16'), [], 'an explicit, reviewed private range');
    assert.throws(() => privateExceptions('169.254.169.254/32'), /link-local/);
  });

  it('the rendered server policy carries the exceptions, and an IMDS rule fails the deployment', () => {
    const config = readStackFile('prod');
    const options = { namespace: config.namespace, images: config.images };
    const open = serverManifests(
      workload({ slug: 'open', egress: [{ cidr: '0.0.0.0/0', ports: [80, 443] }] }),
      options,
    );
    const rule = open.networkPolicy.spec!.egress![1]!;
    assert.deepEqual(rule.to![0]!.ipBlock!.except, PRIVATE_RANGES);
    assert.throws(
      () =>
        serverManifests(
          workload({ slug: 'imds', egress: [{ cidr: '169.254.169.254/32', ports: [80] }] }),
          options,
        ),
      /server imds: egress CIDR 169\.254\.169\.254\/32 is link-local/,
    );
  });

  for (const stack of ['dev', 'prod'] as const) {
    it(`${stack}: nodes require IMDSv2 with hop limit 1 through their launch template`, async () => {
      const run = await stackRun(stack);
      const templates = ofType(run, 'aws:ec2/launchTemplate:LaunchTemplate');
      assert.equal(templates.length, 2);
      for (const template of templates) {
        assert.deepEqual(template.inputs.metadataOptions, {
          httpEndpoint: 'enabled',
          httpTokens: 'required',
          httpPutResponseHopLimit: 1,
          instanceMetadataTags: 'disabled',
        });
      }
      for (const group of ofType(run, 'aws:eks/nodeGroup:NodeGroup'))
        assert.ok(
          templates.some((t) => (group.inputs.launchTemplate as Obj).id === `${t.name}-id`),
        );
    });

    it(`${stack}: the VPC CNI's permissions are on its own role, not the node role`, async () => {
      const run = await stackRun(stack);
      const attachments = ofType(run, 'aws:iam/rolePolicyAttachment:RolePolicyAttachment');
      const nodeRole = ofType(run, 'aws:iam/role:Role').find((r) => r.name === 'cluster-node')!;
      assert.match(String(nodeRole.inputs.assumeRolePolicy), /ec2\.amazonaws\.com/);
      assert.deepEqual(
        attachments.filter((a) => a.inputs.role === nodeRole.name).map((a) => a.inputs.policyArn),
        [
          'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy',
          'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
        ],
      );
      assert.deepEqual(addonIdentity(run, 'vpc-cni'), {
        serviceAccount: 'aws-node',
        trustsPodIdentity: true,
        policies: ['arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy'],
      });
    });
  }
});
