// The ECR repository the baked server images are pushed to, when `images.repository` is an ECR
// address: created by the program (name from the address), with immutable tags (a tag is
// deterministic per package and runner, and never points at other content once pushed), a scan
// on every push, and a lifecycle policy that expires the oldest tagged images beyond
// `images.keepImages`. Untagged images are left alone: the per-architecture images of a
// two-platform push are untagged children of the tagged index, and expiring them would break
// pulls of the image still in use. Push credentials come from the ECR authorization token of
// the account, read at every up (it lasts 12 hours).
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

const ECR_ADDRESS = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([a-z0-9][a-z0-9._/-]*)$/;

/** The parts of an ECR repository address, or undefined for another registry. */
export function ecrRepository(
  address: string,
): { account: string; region: string; name: string } | undefined {
  const match = ECR_ADDRESS.exec(address);
  return match ? { account: match[1]!, region: match[2]!, name: match[3]! } : undefined;
}

export interface RegistryCredentials {
  address: pulumi.Input<string>;
  username: pulumi.Input<string>;
  password: pulumi.Input<string>;
}

export class ImageRepository extends pulumi.ComponentResource {
  readonly credentials: RegistryCredentials;
  /** What a push must wait for (the repository and its policy). */
  readonly resources: pulumi.Resource[];

  constructor(
    name: string,
    args: { address: string; keepImages: number },
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super('mcpfleet:infra:ImageRepository', name, {}, opts);
    const parsed = ecrRepository(args.address);
    if (!parsed)
      throw new Error(`mcpfleet:images.repository: ${args.address} is not an ECR address`);
    const repository = new aws.ecr.Repository(
      name,
      {
        name: parsed.name,
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: 'AES256' }],
        // Baked images are rebuilt from the registry on the next up: a destroy may take them.
        forceDelete: true,
      },
      { parent: this },
    );
    const lifecycle = new aws.ecr.LifecyclePolicy(
      name,
      {
        repository: repository.name,
        policy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: `keep the newest ${args.keepImages} tagged images`,
              selection: {
                tagStatus: 'tagged',
                tagPatternList: ['*'],
                countType: 'imageCountMoreThan',
                countNumber: args.keepImages,
              },
              action: { type: 'expire' },
            },
          ],
        }),
      },
      { parent: this },
    );
    // The configured address is what the manifests name; a repository elsewhere (another account
    // or region than the stack's credentials) would leave every server pod pulling nothing.
    const url = repository.repositoryUrl.apply((actual) => {
      if (actual !== args.address)
        throw new Error(
          `mcpfleet:images.repository is ${args.address}, but the repository was created as ${actual}: set the account and region of this stack`,
        );
      return actual;
    });
    const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repository.registryId });
    this.credentials = {
      address: url.apply((u) => u.split('/')[0]!),
      username: token.userName,
      password: pulumi.secret(token.password),
    };
    this.resources = [repository, lifecycle];
    this.registerOutputs({});
  }
}
