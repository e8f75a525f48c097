// Our images and the Dockerfiles that build them, read from the stacks' config: the image
// `mcpfleet:controller.image` names is built from infra/images/controller.Dockerfile, the one
// `mcpfleet:images.runners.<kind>` names from infra/images/runner-<kind>.Dockerfile. Any tag of
// those repositories maps to the Dockerfile in this checkout (the tag is a release of it).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { normalizeRef } from './third-party-images.ts';

export interface OurImage {
  /** The repository, e.g. ghcr.io/acme/mcpfleet-controller; any tag matches. */
  repository: string;
  /** Relative to the repository root. */
  dockerfile: string;
  /** Where the reference was read from, e.g. Pulumi.dev.yaml mcpfleet:controller.image. */
  source: string;
}

export function ourImages(repoRoot: string): OurImage[] {
  const images: OurImage[] = [];
  const add = (ref: unknown, dockerfile: string, source: string) => {
    if (typeof ref !== 'string') return;
    const repository = repositoryOf(ref);
    if (!images.some((i) => i.repository === repository && i.dockerfile === dockerfile))
      images.push({ repository, dockerfile, source });
  };
  for (const file of readdirSync(repoRoot)
    .filter((f) => /^Pulumi\.[\w-]+\.yaml$/.test(f))
    .sort()) {
    const config = (
      parse(readFileSync(join(repoRoot, file), 'utf8')) as { config?: Record<string, unknown> }
    )?.config;
    if (!config) continue;
    const controller = config['mcpfleet:controller'] as { image?: unknown } | undefined;
    add(
      controller?.image,
      'infra/images/controller.Dockerfile',
      `${file} mcpfleet:controller.image`,
    );
    const runners = (config['mcpfleet:images'] as { runners?: Record<string, unknown> } | undefined)
      ?.runners;
    for (const [kind, ref] of Object.entries(runners ?? {})) {
      const dockerfile = `infra/images/runner-${kind}.Dockerfile`;
      if (existsSync(join(repoRoot, dockerfile)))
        add(ref, dockerfile, `${file} mcpfleet:images.runners.${kind}`);
    }
  }
  return images;
}

/** The Dockerfile (relative to the repository root) that builds `ref`, if it is one of ours. */
export function ourDockerfile(repoRoot: string, ref: string): OurImage | undefined {
  const repository = repositoryOf(ref);
  return ourImages(repoRoot).find((image) => image.repository === repository);
}

function repositoryOf(ref: string): string {
  const normalized = normalizeRef(ref);
  return normalized.slice(0, normalized.lastIndexOf(':'));
}
