// How the process kubelet gets the server images the program bakes: each bake plan's inline
// Dockerfile (FROM the runner image, `npm install` of the package, ENV npm_config_offline) is
// followed by the image materializer with the plan's own build context, exactly as
// infra/components/bakedImages.ts hands them to `docker buildx`. Every other image goes the usual
// way (our Dockerfiles, the third-party table).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { materializeImage, type ImageLayout } from '../../cluster/images/index.ts';
import { withoutDigest, type Bake } from './collect-objects.ts';

const REPO = new URL('../../../', import.meta.url).pathname;

export function bakedImageMaterializer(
  bakes: readonly Bake[],
): (ref: string) => Promise<ImageLayout> {
  const dir = join(tmpdir(), 'mcpfleet-bake-dockerfiles');
  mkdirSync(dir, { recursive: true });
  const byImage = new Map(bakes.map((bake) => [bake.image, bake]));
  return (ref) => {
    // Deployments name a baked image by tag and digest; the plan, by tag.
    const bake = byImage.get(withoutDigest(ref));
    if (!bake) return materializeImage(ref);
    const name = createHash('sha256').update(bake.dockerfile).digest('hex').slice(0, 16);
    const dockerfile = join(dir, `${name}.Dockerfile`);
    writeFileSync(dockerfile, bake.dockerfile);
    return materializeImage(ref, { dockerfile, context: join(REPO, bake.context) });
  };
}
