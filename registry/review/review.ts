// `mcpfleet registry diff`: what a change to the registry does, as a reviewer reads it. The head
// is the working tree (loaded as `registry check` and `pulumi up` load it); the base is the
// merge base of HEAD and --base, read from git without a checkout. Both are rendered with the
// same stack file and the same builders as `registry render`, so only the registry differs.
import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { Problem } from '../catalog/spec.ts';
import { readStackFile, renderObjects } from '../../infra/render.ts';
import type { StackConfig } from '../../infra/config.ts';
import { loadBaseRegistry, treePath } from './base-registry.ts';
import { compareRegistries, type Comparison } from './compare.ts';
import { resolveBase, workTreeRoot } from './git.ts';
import { displayPath, loadHeadRegistry } from './registry-side.ts';
import { ReviewError } from './review-error.ts';

/** Names the JSON shape (docs/registry-diff.md); bumped on an incompatible change. */
export const DIFF_SCHEMA = 'mcpfleet.dev/registry-diff/v1';

export interface RegistryDiff extends Comparison {
  schema: typeof DIFF_SCHEMA;
  stack: string;
  /** The registry folder compared, as given (relative to the working directory). */
  registry: string;
  base: { ref: string; commit: string; problems: Problem[] };
  head: { ref: 'working tree'; problems: Problem[] };
}

export interface DiffOptions {
  /** Registry folder; default: the stack's `mcpfleet:registryDir` in the repository. */
  dir?: string;
  /** Branch, tag or commit; default: origin/main, else main (git.ts DEFAULT_BASES). */
  base?: string;
  stack: string;
}

function stackConfig(stack: string, root: string): StackConfig {
  try {
    return readStackFile(stack, root);
  } catch (error) {
    throw new ReviewError((error as Error).message);
  }
}

export async function registryDiff(options: DiffOptions): Promise<RegistryDiff> {
  const root = await workTreeRoot(process.cwd());
  const config = stackConfig(options.stack, root);
  const dir = options.dir ?? displayPath(path.join(root, config.registryDir));
  const head = await loadHeadRegistry(dir);
  const base = await resolveBase(root, options.base);
  const treeDir = treePath(realpathSync(root), realpathSync(dir));
  const baseSide = await loadBaseRegistry(root, base.commit, treeDir, dir);
  const comparison = compareRegistries(baseSide, head, (specs) => renderObjects(config, specs));
  return {
    schema: DIFF_SCHEMA,
    stack: options.stack,
    registry: dir,
    base: { ...base, problems: baseSide.problems },
    head: { ref: 'working tree', problems: head.problems },
    summary: comparison.summary,
    servers: comparison.servers,
    platform: comparison.platform,
  };
}
