// The base side of a registry comparison, read from a commit instead of a directory: the same
// per-file validation and compile as loadRegistry (checkServerJson), fed from git's objects.
// What only a file system has is reported, not followed: a symlink in the base commit.
import path from 'node:path';
import { checkServerJson, SLUG_PATTERN } from '../catalog/index.ts';
import { MAX_FILE_BYTES, tooLargeMessage } from '../catalog/read-json.ts';
import type { Problem } from '../catalog/spec.ts';
import { ReviewError } from './review-error.ts';
import { listTree, readBlobs, type TreeFile } from './git.ts';
import { serverFileShown, type RegistrySide, type ServerEntry } from './registry-side.ts';

const SYMLINK_MODE = '120000';

interface Candidate {
  slug: string;
  /** `<slug>` itself when it is a symlink, else `<slug>/server.json` if the commit has it. */
  file?: TreeFile;
  symlink: boolean;
}

/** The server directories of `treeDir` in a commit, as loadRegistry would find them on disk. */
function candidates(files: readonly TreeFile[], treeDir: string): Candidate[] {
  const prefix = treeDir === '' ? '' : `${treeDir}/`;
  const bySlug = new Map<string, Candidate>();
  for (const file of files) {
    const [slug, ...rest] = file.path.slice(prefix.length).split('/');
    if (!slug || slug.startsWith('.')) continue;
    if (rest.length === 0) {
      // A plain file beside the server directories is ignored, as on disk; a symlink may be one.
      if (file.mode === SYMLINK_MODE) bySlug.set(slug, { slug, file, symlink: true });
      continue;
    }
    const candidate = bySlug.get(slug) ?? { slug, symlink: false };
    if (rest.join('/') === 'server.json') candidate.file = file;
    bySlug.set(slug, candidate);
  }
  return [...bySlug.values()].sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0));
}

/** Why a candidate cannot be compiled before its bytes are even read; undefined if it can. */
function refusal(candidate: Candidate, ref: string): string | undefined {
  if (!SLUG_PATTERN.test(candidate.slug)) {
    return `directory name "${candidate.slug}" is not a valid slug: use 1-40 lowercase letters, digits and "-" (it becomes Kubernetes names and /servers/<slug>/mcp)`;
  }
  if (!candidate.file) return `missing server.json in ${ref}`;
  if (candidate.symlink || candidate.file.mode === SYMLINK_MODE) {
    return `a symlink in ${ref}: registry diff reads the base from git and does not follow symlinks`;
  }
  if (candidate.file.mode === '160000') return `a git submodule in ${ref}, not a file`;
  if ((candidate.file.size ?? 0) > MAX_FILE_BYTES) return tooLargeMessage(candidate.file.size!);
  return undefined;
}

/**
 * The registry at `dir` (as the working tree names it) in `commit`; `treeDir` is the same folder
 * relative to the repository root. Never throws for bad content: each server gets its problems.
 */
export async function loadBaseRegistry(
  root: string,
  commit: string,
  treeDir: string,
  dir: string,
): Promise<RegistrySide> {
  const found = candidates(await listTree(root, commit, treeDir), treeDir);
  const readable = found.filter((c) => refusal(c, commit) === undefined);
  const blobs = await readBlobs(
    root,
    readable.map((c) => c.file!.oid),
  );
  const servers = new Map<string, ServerEntry>();
  const problems: Problem[] = [];
  const byName = new Map<string, string>();
  for (const candidate of found) {
    const file = serverFileShown(dir, candidate.slug);
    const entry: ServerEntry = { slug: candidate.slug, problems: [] };
    const refused = refusal(candidate, commit.slice(0, 12));
    const bytes = candidate.file && blobs.get(candidate.file.oid);
    if (refused !== undefined || !bytes) {
      entry.problems.push({ file, path: '$', message: refused ?? 'could not be read from git' });
    } else {
      entry.bytes = bytes;
      const checked = checkServerJson(bytes, file, candidate.slug);
      entry.problems.push(...checked.problems);
      const first = checked.spec && byName.get(checked.spec.name);
      if (checked.spec && first !== undefined) {
        entry.problems.push({
          file,
          path: 'name',
          message: `"${checked.spec.name}" is already registered by ${first}; each server needs a unique name`,
        });
      } else if (checked.spec) {
        byName.set(checked.spec.name, file);
        entry.spec = checked.spec;
      }
    }
    problems.push(...entry.problems);
    servers.set(candidate.slug, entry);
  }
  return { servers, problems };
}

/** The registry folder relative to the repository root, `/`-separated, as git names paths. */
export function treePath(root: string, absoluteDir: string): string {
  const relative = path.relative(root, absoluteDir);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new ReviewError(`${absoluteDir} is outside the repository ${root}`);
  }
  return relative.split(path.sep).join('/');
}
