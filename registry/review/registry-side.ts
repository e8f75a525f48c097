// One side of a registry comparison: every server directory, compiled or with its problems.
// The head side is the working tree, loaded by loadRegistry exactly as `registry check` and
// `pulumi up` load it; the base side comes from git (base-registry.ts).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadRegistry } from '../catalog/index.ts';
import type { Problem, ServerSpec } from '../catalog/spec.ts';
import { ReviewError } from './review-error.ts';

export interface ServerEntry {
  slug: string;
  /** The compiled server; undefined when its server.json has problems. */
  spec?: ServerSpec;
  problems: Problem[];
  /** The server.json as stored (undefined when missing): a change is a change of these bytes. */
  bytes?: Uint8Array;
}

export interface RegistrySide {
  /** By slug (the directory name), sorted. */
  servers: Map<string, ServerEntry>;
  problems: Problem[];
}

/** How a path appears in problems and in ServerSpec.source: as loadRegistry shows it. */
export function displayPath(absolute: string): string {
  const relative = path.relative(process.cwd(), absolute);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : absolute;
}

/** The file every server directory holds, as loadRegistry names it in its problems. */
export function serverFileShown(dir: string, slug: string): string {
  return displayPath(path.join(path.resolve(dir), slug, 'server.json'));
}

function readIfPresent(file: string): Uint8Array | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** The working tree's registry at `dir`. */
export async function loadHeadRegistry(dir: string): Promise<RegistrySide> {
  let names: string[];
  try {
    // The same directories loadRegistry examines (it reports a symlink leading outside itself).
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  } catch (error) {
    throw new ReviewError(
      `cannot read the registry directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)} ` +
        '(pass the directory holding <slug>/server.json folders)',
    );
  }
  const result = await loadRegistry(dir);
  const specs = new Map(result.specs.map((spec) => [spec.slug, spec]));
  const servers = new Map<string, ServerEntry>();
  for (const slug of names) {
    const file = serverFileShown(dir, slug);
    const entry: ServerEntry = {
      slug,
      problems: result.problems.filter((p) => p.file === file),
    };
    const spec = specs.get(slug);
    if (spec) entry.spec = spec;
    const bytes = readIfPresent(path.join(dir, slug, 'server.json'));
    if (bytes) entry.bytes = bytes;
    servers.set(slug, entry);
  }
  return { servers, problems: result.problems };
}
