// Issue 8, point 3: baked images can be pushed and are deployed as pushed. The program creates
// the ECR repository (immutable tags, scan on push, lifecycle policy), hands the build the
// credentials of the account's ECR authorization token, names the buildx builder that can build
// two platforms, and the Deployments run the image by the digest the push returned.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readStackFile } from '../../infra/render.ts';
import { workloadName } from '../../registry/catalog/workload-names.ts';
import { ofType, runStack, stackConfig } from './harness.ts';
import { k8sObject, resource, stackRun, type Obj } from './runs.ts';

const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

/** Pulumi.prod.yaml with its images settings changed. */
function prodWithImages(change: (images: Obj) => void) {
  const { config, secretKeys } = stackConfig('prod');
  const images = JSON.parse(config['mcpfleet:images']!) as Obj;
  change(images);
  return runStack({
    stack: 'prod',
    config: { ...config, 'mcpfleet:images': JSON.stringify(images) },
    secretKeys,
  });
}

describe('issue 8.3: baked images are pushed to ECR and deployed by digest', function () {
  this.timeout(60_000);

  it('prod: creates the configured ECR repository with immutable tags, scan on push and a lifecycle policy', async () => {
    const run = await stackRun('prod');
    const repository = resource(run, 'aws:ecr/repository:Repository', 'images-repository');
    assert.equal(repository.inputs.name, 'mcpfleet-servers');
    assert.equal(repository.inputs.imageTagMutability, 'IMMUTABLE');
    assert.deepEqual(repository.inputs.imageScanningConfiguration, { scanOnPush: true });
    const lifecycle = resource(run, 'aws:ecr/lifecyclePolicy:LifecyclePolicy', 'images-repository');
    const { rules } = JSON.parse(String(lifecycle.inputs.policy)) as { rules: Obj[] };
    assert.deepEqual(
      rules.map((r) => [r.selection.tagStatus, r.selection.countType, r.selection.countNumber]),
      [['tagged', 'imageCountMoreThan', readStackFile('prod').images.keepImages]],
      'only tagged images expire: a multi-arch index keeps its untagged children',
    );
  });

  it('prod: pushes with the ECR token of the repository account, through the configured builder', async () => {
    const run = await stackRun('prod');
    const token = run.invokes.filter(
      (i) => i.token === 'aws:ecr/getAuthorizationToken:getAuthorizationToken',
    );
    assert.deepEqual(
      token.map((i) => i.inputs.registryId),
      ['123456789012'],
    );
    const repository = resource(run, 'aws:ecr/repository:Repository', 'images-repository');
    const images = ofType(run, 'docker-build:index:Image');
    assert.ok(images.length > 0);
    for (const image of images) {
      assert.deepEqual(image.inputs.registries, [
        { address: REGISTRY, username: 'AWS', password: 'mock-ecr-password' },
      ]);
      assert.ok(
        image.secretPaths.some((path) => 'registries[0].password'.startsWith(path)),
        'the token stays secret',
      );
      assert.deepEqual(image.inputs.builder, { name: readStackFile('prod').images.builder });
      assert.deepEqual(image.inputs.platforms, ['linux/amd64', 'linux/arm64']);
      assert.ok(image.dependencies.includes(repository.urn), 'the repository exists first');
      for (const tag of image.inputs.tags as string[])
        assert.ok(tag.startsWith(`${REGISTRY}/mcpfleet-servers:`));
    }
  });

  it('prod: Deployments run the baked image by the digest its push returned', async () => {
    const run = await stackRun('prod');
    const deployment = k8sObject(run, 'kubernetes:apps/v1:Deployment', workloadName('everything'));
    const image = (deployment.inputs.spec as Obj).template.spec.containers[0].image as string;
    const [tag, digest] = image.split('@') as [string, string];
    const build = ofType(run, 'docker-build:index:Image').find((i) =>
      (i.inputs.tags as string[]).includes(tag),
    )!;
    assert.ok(build, 'runs a baked image');
    // The harness's registry answers each push with the sha256 of its tag.
    assert.equal(digest, `sha256:${createHash('sha256').update(tag).digest('hex')}`);
    assert.ok(deployment.dependencies.includes(build.urn));
  });

  it('refuses to bake two platforms without a builder that can', () => {
    return assert.rejects(
      prodWithImages((images) => delete images.builder),
      /mcpfleet:images\.builder: required to bake more than one platform/,
    );
  });

  it('refuses a repository address in another account than the one the stack creates it in', async () => {
    await assert.rejects(
      prodWithImages(
        (images) =>
          (images.repository = '999999999999.dkr.ecr.eu-west-1.amazonaws.com/mcpfleet-servers'),
      ),
      /mcpfleet:images\.repository is 999999999999\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/mcpfleet-servers, but the repository was created as 123456789012/,
    );
  });

  it('refuses a lifecycle policy that would expire images in use', async () => {
    await assert.rejects(
      prodWithImages((images) => (images.keepImages = 1)),
      /mcpfleet:images\.keepImages is 1, but the registry bakes \d+ images/,
    );
  });

  it("another registry than ECR: no repository, the builder's own login", async () => {
    const run = await prodWithImages(
      (images) => (images.repository = 'ghcr.io/acme/mcpfleet-servers'),
    );
    assert.equal(ofType(run, 'aws:ecr/repository:Repository').length, 0);
    assert.equal(run.invokes.length, 0);
    for (const image of ofType(run, 'docker-build:index:Image'))
      assert.equal(image.inputs.registries, undefined);
  });
});
