// Bakes package servers into images at deploy time: one multi-arch image per distinct package,
// built FROM its runner image with the package pre-installed and pushed to the stack's
// repository. Servers then start without any package install (cold start stays fast and works
// without registry egress). The tags are deterministic (see manifests/artifacts.ts); the
// Deployments run the image by the digest the push returned (`<tag>@sha256:…`), so what runs is
// exactly what was built, whatever happens to the tag afterwards.
// Two platforms in one push need a buildx builder with the docker-container, kubernetes or remote
// driver (`images.builder`): Docker's default `docker` driver builds one platform.
import * as dockerBuild from '@pulumi/docker-build';
import * as pulumi from '@pulumi/pulumi';
import type { BakePlan } from '../manifests/artifacts.ts';
import type { RegistryCredentials } from './imageRepository.ts';

export interface BakedImagesArgs {
  plans: readonly BakePlan[];
  builder?: string;
  /** Push credentials (ECR); without them the builder's own `docker login` is used. */
  registry?: RegistryCredentials;
  /** The repository must exist before a push. */
  dependsOn?: pulumi.Resource[];
}

export class BakedImages extends pulumi.ComponentResource {
  /** Build resource by image reference (tag). */
  readonly byImage = new Map<string, dockerBuild.Image>();
  /** The reference to deploy, by tag: the tag pinned to the digest the push returned. */
  readonly pinned = new Map<string, pulumi.Output<string>>();

  constructor(name: string, args: BakedImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mcpfleet:infra:BakedImages', name, {}, opts);
    for (const plan of args.plans) {
      const id = plan.image.slice(plan.image.lastIndexOf(':') + 1);
      const image = new dockerBuild.Image(
        `${name}-${id}`,
        {
          tags: [plan.image],
          push: true,
          platforms: plan.platforms as dockerBuild.Platform[],
          dockerfile: { inline: plan.dockerfile },
          // No files are copied; an empty context keeps builds hermetic and fast.
          context: { location: 'infra/images/bake-context' },
          labels: {
            'dev.mcpfleet.package': plan.key,
            'org.opencontainers.image.base.name': plan.runnerImage,
          },
          ...(args.builder ? { builder: { name: args.builder } } : {}),
          ...(args.registry ? { registries: [args.registry] } : {}),
        },
        { parent: this, dependsOn: args.dependsOn ?? [] },
      );
      this.byImage.set(plan.image, image);
      this.pinned.set(plan.image, pulumi.interpolate`${plan.image}@${image.digest}`);
    }
    this.registerOutputs({});
  }
}
