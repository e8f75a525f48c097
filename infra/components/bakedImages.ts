// Bakes package servers into images at deploy time: one multi-arch image per distinct package,
// built FROM its runner image with the package pre-installed and pushed to the stack's
// repository. Servers then start without any package install (cold start stays fast and works
// without registry egress). The tags are deterministic (see manifests/artifacts.ts), so the
// Deployments reference them before the build finishes and depend on the build resource.
import * as dockerBuild from '@pulumi/docker-build';
import * as pulumi from '@pulumi/pulumi';
import type { BakePlan } from '../manifests/artifacts.ts';

export class BakedImages extends pulumi.ComponentResource {
  /** Build resource by image reference. */
  readonly byImage = new Map<string, dockerBuild.Image>();

  constructor(
    name: string,
    args: { plans: readonly BakePlan[] },
    opts?: pulumi.ComponentResourceOptions,
  ) {
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
        },
        { parent: this },
      );
      this.byImage.set(plan.image, image);
    }
    this.registerOutputs({});
  }
}
