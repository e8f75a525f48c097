// Which artifact and image a server runs, decided once from its ServerSpec and the stack's image
// config. Pure: the Pulumi component and `mcpfleet registry render` both call it.
import { createHash } from 'node:crypto';
import type { Arch, Artifact, WorkloadSpec } from '../../registry/catalog/spec.ts';
import type { ImagesConfig } from '../config.ts';

type PackageArtifact = Extract<Artifact, { type: 'package' }>;
type McpbArtifact = Extract<Artifact, { type: 'mcpb' }>;

/** What a server's pod runs. */
export type ArtifactPlan =
  | { type: 'image'; image: string; nodeArch?: Arch }
  | { type: 'package'; artifact: PackageArtifact; image: string; baked: boolean; nodeArch?: Arch }
  /** One bundle per architecture; the init container picks by `uname -m` on the node. */
  | {
      type: 'mcpb';
      bundles: Partial<Record<Arch, { url: string; sha256: string }>>;
      runner: McpbArtifact['runner'];
      image: string;
      nodeArch?: Arch;
    };

/** An image to build FROM a runner with one package pre-installed (see infra/components/bakedImages.ts). */
export interface BakePlan {
  key: string;
  image: string;
  runnerImage: string;
  dockerfile: string;
  platforms: string[];
}

export function packageKey(artifact: PackageArtifact): string {
  return `${artifact.registryType}:${artifact.identifier}@${artifact.version}`;
}

/** A deterministic tag, so manifests are known before the build and change when the runner does. */
export function bakedImageRef(
  repository: string,
  artifact: PackageArtifact,
  runnerImage: string,
): string {
  const hash = createHash('sha256')
    .update(`${packageKey(artifact)}\n${runnerImage}`)
    .digest('hex')
    .slice(0, 12);
  const name = `${artifact.identifier}-${artifact.version}`
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[-.]+/, '')
    .slice(0, 100);
  return `${repository}:${name}-${hash}`;
}

export function runnerImage(runner: 'node' | 'python' | 'dotnet', images: ImagesConfig): string {
  const image = images.runners[runner];
  if (!image)
    throw new Error(
      `mcpfleet:images.runners.${runner}: required by a server that uses the ${runner} runner`,
    );
  return image;
}

const sameArtifact = (a: Artifact, b: Artifact) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Chooses the artifact for the pod. A spec pinned to one arch (nodeArch) uses that artifact; a
 * spec with the same artifact on every arch is multi-arch; per-arch bundles stay multi-arch (the
 * init container selects); per-arch images or packages cannot share one pod template, so the
 * amd64 one is used and the pod is pinned to amd64.
 */
export function planArtifact(spec: WorkloadSpec, images: ImagesConfig): ArtifactPlan {
  const entries = Object.entries(spec.artifacts) as [Arch, Artifact][];
  if (entries.length === 0) throw new Error(`server ${spec.slug}: no artifact to deploy`);
  let nodeArch = spec.nodeArch;
  let chosen: Artifact;
  if (nodeArch && spec.artifacts[nodeArch]) {
    chosen = spec.artifacts[nodeArch]!;
  } else if (entries.every(([, a]) => sameArtifact(a, entries[0]![1]))) {
    chosen = entries[0]![1];
  } else if (entries.every(([, a]) => a.type === 'mcpb')) {
    chosen = entries[0]![1];
  } else {
    const preferred = entries.find(([arch]) => arch === 'amd64') ?? entries[0]!;
    nodeArch = preferred[0];
    chosen = preferred[1];
  }
  const pin = nodeArch ? { nodeArch } : {};
  switch (chosen.type) {
    case 'image':
      return { type: 'image', image: chosen.image, ...pin };
    case 'package': {
      const runner = runnerImage(chosen.runner, images);
      const prebuilt = images.prebuilt[packageKey(chosen)];
      if (prebuilt)
        return { type: 'package', artifact: chosen, image: prebuilt, baked: true, ...pin };
      if (images.packages === 'bake') {
        const image = bakedImageRef(images.repository!, chosen, runner);
        return { type: 'package', artifact: chosen, image, baked: true, ...pin };
      }
      return { type: 'package', artifact: chosen, image: runner, baked: false, ...pin };
    }
    case 'mcpb': {
      const bundles: Partial<Record<Arch, { url: string; sha256: string }>> = {};
      for (const [arch, artifact] of entries) {
        if (artifact.type === 'mcpb' && (!nodeArch || arch === nodeArch)) {
          bundles[arch] = { url: artifact.url, sha256: artifact.sha256 };
        }
      }
      return {
        type: 'mcpb',
        bundles,
        runner: chosen.runner,
        image: runnerImage(chosen.runner, images),
        ...pin,
      };
    }
  }
}

/** The Dockerfile that bakes one package into its runner image. */
export function bakeDockerfile(artifact: PackageArtifact, runner: string): string {
  const spec = `${artifact.identifier}@${artifact.version}`;
  const registry = artifact.registryBaseUrl
    ? ` --registry ${JSON.stringify(artifact.registryBaseUrl)}`
    : '';
  switch (artifact.registryType) {
    case 'npm':
      // Installed as a project dependency in the runner's working directory: `npx -y name@version`
      // resolves it from ./node_modules, and npm_config_offline makes a miss fail instead of
      // downloading on the wake path.
      return [
        `FROM ${runner}`,
        'WORKDIR /srv/mcp',
        `RUN npm install --no-fund --no-audit --omit=dev --save-exact${registry} ${JSON.stringify(spec)} && rm -rf "$HOME/.npm"`,
        'ENV npm_config_offline=true',
        '',
      ].join('\n');
    case 'pypi':
      // `uv tool install` puts the tool in UV_TOOL_DIR (baked); uvx reuses an installed tool whose
      // version satisfies the request, and UV_OFFLINE forbids falling back to the network.
      return [
        `FROM ${runner}`,
        `RUN uv tool install ${artifact.registryBaseUrl ? `--index-url ${JSON.stringify(artifact.registryBaseUrl)} ` : ''}${JSON.stringify(`${artifact.identifier}==${artifact.version}`)} && rm -rf "$UV_CACHE_DIR"`,
        'ENV UV_OFFLINE=1',
        '',
      ].join('\n');
    case 'nuget':
      return [
        `FROM ${runner}`,
        `RUN dotnet tool install --tool-path /srv/mcp/tools ${JSON.stringify(artifact.identifier)} --version ${JSON.stringify(artifact.version)}`,
        'ENV PATH=/srv/mcp/tools:$PATH',
        '',
      ].join('\n');
  }
}

/** Every distinct image to bake for these specs (one per package × runner). */
export function bakePlans(specs: readonly WorkloadSpec[], images: ImagesConfig): BakePlan[] {
  const plans = new Map<string, BakePlan>();
  if (images.packages !== 'bake') return [];
  for (const spec of specs) {
    const plan = planArtifact(spec, images);
    if (plan.type !== 'package' || images.prebuilt[packageKey(plan.artifact)]) continue;
    const runner = runnerImage(plan.artifact.runner, images);
    plans.set(plan.image, {
      key: packageKey(plan.artifact),
      image: plan.image,
      runnerImage: runner,
      dockerfile: bakeDockerfile(plan.artifact, runner),
      platforms: plan.nodeArch ? [`linux/${plan.nodeArch}`] : images.platforms,
    });
  }
  return [...plans.values()].sort((a, b) => a.image.localeCompare(b.image));
}
