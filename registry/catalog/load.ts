// Loads a registry directory: registry/servers/<slug>/server.json → ServerSpecs + problems.
// Every problem names the file, the JSON path and the fix; nothing here throws on bad input.
import { lstat, open, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { compileServer } from './compile.ts';
import { ServerJsonSchema, type ServerJson } from './official-schema.ts';
import { problemsFromZod } from './problems.ts';
import { MAX_FILE_BYTES, parseJsonDocument, tooLargeMessage } from './read-json.ts';
import type { Problem, ServerSpec } from './spec.ts';

/** A DNS-1123 label: the slug becomes Kubernetes names and the URL /servers/<slug>/mcp. */
export const SLUG_PATTERN = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
export const SERVER_FILE = 'server.json';
const READ_CONCURRENCY = 64;

export interface RegistryResult {
  specs: ServerSpec[];
  problems: Problem[];
  /** How many server directories were examined. */
  checked: number;
}

/** How paths appear in messages: relative to the working directory when inside it. */
function displayPath(absolute: string): string {
  const relative = path.relative(process.cwd(), absolute);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : absolute;
}

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * Reads a file only if it is within the size limit: a 50 MB file is refused from its size
 * alone, without loading it. Returns the byte count instead when it is too large.
 */
async function readBounded(file: string): Promise<Uint8Array | number> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size > MAX_FILE_BYTES) return size;
    const buffer = Buffer.alloc(size);
    const { bytesRead } = await handle.read(buffer, 0, size, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Validates and compiles one server.json's bytes. */
export function checkServerJson(
  bytes: Uint8Array,
  file: string,
  slug: string,
): { spec?: ServerSpec; document?: ServerJson; problems: Problem[] } {
  const parsed = parseJsonDocument(bytes);
  if (!parsed.ok) return { problems: [{ file, ...parsed.failure }] };
  const validated = ServerJsonSchema.safeParse(parsed.value);
  if (!validated.success) {
    return { problems: problemsFromZod(file, validated.error, ServerJsonSchema, parsed.value) };
  }
  const compiled = compileServer(validated.data, file, slug);
  return { ...compiled, document: validated.data };
}

async function checkDirectory(
  root: string,
  realRoot: string,
  entryName: string,
): Promise<{ spec?: ServerSpec; problems: Problem[] }> {
  const dir = path.join(root, entryName);
  const file = path.join(dir, SERVER_FILE);
  const shown = displayPath(file);
  if (!SLUG_PATTERN.test(entryName)) {
    return {
      problems: [
        {
          file: shown,
          path: '$',
          message: `directory name "${entryName}" is not a valid slug: use 1-40 lowercase letters, digits and "-", starting and ending with a letter or digit (it becomes Kubernetes names and /servers/<slug>/mcp)`,
        },
      ],
    };
  }
  let real = file;
  let stats: import('node:fs').Stats;
  try {
    // Only a symlink can lead outside the registry; plain files skip the realpath call.
    stats = await lstat(file);
    if (stats.isSymbolicLink()) {
      real = await realpath(file);
      stats = await lstat(real);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      problems: [
        {
          file: shown,
          path: '$',
          message:
            code === 'ENOENT'
              ? `missing ${SERVER_FILE}: every directory under ${displayPath(root)} is one server and needs one`
              : `cannot read: ${code ?? String(error)}`,
        },
      ],
    };
  }
  if (real !== file && !isInside(realRoot, real)) {
    return {
      problems: [
        {
          file: shown,
          path: '$',
          message: `symlink points outside the registry (to ${real}); registry files must live in the repository`,
        },
      ],
    };
  }
  if (!stats.isFile()) {
    return { problems: [{ file: shown, path: '$', message: `${SERVER_FILE} must be a regular file` }] };
  }
  const bytes = await readBounded(real);
  if (typeof bytes === 'number') {
    return { problems: [{ file: shown, path: '$', message: tooLargeMessage(bytes) }] };
  }
  return checkServerJson(bytes, shown, entryName);
}

/** Loads every server of a registry directory. Never throws for bad content. */
export async function loadRegistry(dir = 'registry/servers'): Promise<RegistryResult> {
  const root = path.resolve(dir);
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      specs: [],
      checked: 0,
      problems: [
        {
          file: displayPath(root),
          path: '$',
          message:
            code === 'ENOENT'
              ? 'registry directory does not exist: pass the directory holding <slug>/server.json folders'
              : `cannot read the registry directory: ${code ?? String(error)}`,
        },
      ],
    };
  }
  const serverDirs = entries
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const realRoot = await realpath(root);

  const results: Array<{ spec?: ServerSpec; problems: Problem[] }> = new Array(serverDirs.length);
  let next = 0;
  const worker = async () => {
    while (next < serverDirs.length) {
      const i = next++;
      const entry = serverDirs[i] as import('node:fs').Dirent;
      const name = entry.name;
      const entryPath = path.join(root, name);
      const target = entry.isSymbolicLink()
        ? await realpath(entryPath).catch(() => entryPath)
        : path.join(realRoot, name);
      results[i] = isInside(realRoot, target)
        ? await checkDirectory(root, realRoot, name)
        : {
            problems: [
              {
                file: displayPath(path.join(entryPath, SERVER_FILE)),
                path: '$',
                message: `symlink points outside the registry (to ${target}); registry files must live in the repository`,
              },
            ],
          };
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, serverDirs.length) }, worker));

  const specs: ServerSpec[] = [];
  const problems: Problem[] = [];
  const byName = new Map<string, string>();
  for (const result of results) {
    problems.push(...result.problems);
    if (!result.spec) continue;
    const first = byName.get(result.spec.name);
    if (first !== undefined) {
      problems.push({
        file: result.spec.source,
        path: 'name',
        message: `"${result.spec.name}" is already registered by ${first}; each server needs a unique name`,
      });
      continue;
    }
    byName.set(result.spec.name, result.spec.source);
    specs.push(result.spec);
  }
  return { specs, problems, checked: serverDirs.length };
}
