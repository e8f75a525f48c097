// Loads a registry directory: registry/servers/<slug>/server.json → ServerSpecs + problems.
// Every problem names the file, the JSON path and the fix; nothing here throws on bad input.
// Synchronous fs on purpose: the registry is read once at start-up, and for thousands of
// small files sync calls are several times faster than promise round-trips via the pool.
import {
  closeSync,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  readdirSync,
  realpathSync,
  type Dirent,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { compileServer } from './compile.ts';
import { locateProblems } from './locate.ts';
import type { ServerJson } from './official-schema.ts';
import { judgeOfficially } from './official-validator.ts';
import { readShape } from './read-shape.ts';
import { MAX_FILE_BYTES, parseJsonDocument, tooLargeMessage } from './read-json.ts';
import { asCurrentRevision } from './revision-upgrade.ts';
import type { Problem, ServerSpec } from './spec.ts';

/** A DNS-1123 label: the slug becomes Kubernetes names and the URL /servers/<slug>/mcp. */
export const SLUG_PATTERN = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
export const SERVER_FILE = 'server.json';

export interface RegistryResult {
  specs: ServerSpec[];
  /** Errors: what refuses the registry (official schema or platform rules). */
  problems: Problem[];
  /** What the official schema allows but mcpfleet does not read; `check --strict` refuses. */
  warnings: Problem[];
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
function readBounded(file: string): Uint8Array | number {
  const fd = openSync(file, 'r');
  try {
    const { size } = fstatSync(fd);
    if (size > MAX_FILE_BYTES) return size;
    const buffer = Buffer.alloc(size);
    const bytesRead = readSync(fd, buffer, 0, size, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    closeSync(fd);
  }
}

/** One report per fact: a package deployed on two architectures is judged twice. */
function distinct(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\n${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface ServerCheck {
  spec?: ServerSpec;
  document?: ServerJson;
  problems: Problem[];
  warnings: Problem[];
}

/**
 * Validates and compiles one server.json's bytes: the official schema of its revision judges
 * it first; then the platform reads it and refuses only what it cannot deploy.
 */
export function checkServerJson(bytes: Uint8Array, file: string, slug: string): ServerCheck {
  const parsed = parseJsonDocument(bytes);
  if (!parsed.ok)
    return { problems: [{ file, rule: 'safe-json', ...parsed.failure }], warnings: [] };
  const located = (check: ServerCheck): ServerCheck => ({
    ...check,
    problems: locateProblems(parsed.text, distinct(check.problems)),
    warnings: locateProblems(parsed.text, distinct(check.warnings)),
  });
  const document = parsed.value as Record<string, unknown>;
  const official = judgeOfficially(file, document);
  const shape = readShape(file, asCurrentRevision(document, official.revision));
  const warnings = [...official.warnings, ...shape.warnings];
  // The official verdict comes first: what the platform makes of a document the official
  // schema refuses would only repeat it less precisely. Its warnings still help (a typo).
  if (official.errors.length > 0) {
    const typos = warnings.filter((w) => w.rule !== 'unread-value'); // not the errors again
    return located({ problems: official.errors, warnings: typos });
  }
  if (!shape.document) return located({ problems: shape.problems, warnings });
  const compiled = compileServer(shape.document, file, slug);
  return located({ ...compiled, document: shape.document, warnings });
}

function checkDirectory(root: string, realRoot: string, entryName: string): ServerCheck {
  const dir = path.join(root, entryName);
  const file = path.join(dir, SERVER_FILE);
  const shown = displayPath(file);
  if (!SLUG_PATTERN.test(entryName)) {
    return {
      problems: [
        {
          file: shown,
          path: '$',
          rule: 'registry-layout',
          message: `directory name "${entryName}" is not a valid slug: use 1-40 lowercase letters, digits and "-", starting and ending with a letter or digit (it becomes Kubernetes names and /servers/<slug>/mcp)`,
        },
      ],
      warnings: [],
    };
  }
  let real = file;
  let stats: Stats;
  try {
    // Only a symlink can lead outside the registry; plain files skip the realpath call.
    stats = lstatSync(file);
    if (stats.isSymbolicLink()) {
      real = realpathSync(file);
      stats = lstatSync(real);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      problems: [
        {
          file: shown,
          path: '$',
          rule: 'registry-layout',
          message:
            code === 'ENOENT'
              ? `missing ${SERVER_FILE}: every directory under ${displayPath(root)} is one server and needs one`
              : `cannot read: ${code ?? String(error)}`,
        },
      ],
      warnings: [],
    };
  }
  if (real !== file && !isInside(realRoot, real)) {
    return {
      problems: [
        {
          file: shown,
          path: '$',
          rule: 'registry-layout',
          message: `symlink points outside the registry (to ${real}); registry files must live in the repository`,
        },
      ],
      warnings: [],
    };
  }
  if (!stats.isFile()) {
    return {
      problems: [
        {
          file: shown,
          path: '$',
          rule: 'registry-layout',
          message: `${SERVER_FILE} must be a regular file`,
        },
      ],
      warnings: [],
    };
  }
  const bytes = readBounded(real);
  if (typeof bytes === 'number') {
    return {
      problems: [{ file: shown, path: '$', rule: 'safe-json', message: tooLargeMessage(bytes) }],
      warnings: [],
    };
  }
  return checkServerJson(bytes, shown, entryName);
}

/** Loads every server of a registry directory. Never throws for bad content. */
export async function loadRegistry(dir = 'registry/servers'): Promise<RegistryResult> {
  const root = path.resolve(dir);
  let entries: Dirent[];
  try {
    entries = readdirSync(root, { withFileTypes: true });
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
      warnings: [],
    };
  }
  const serverDirs = entries
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const realRoot = realpathSync(root);

  const results = serverDirs.map((entry): ServerCheck => {
    const entryPath = path.join(root, entry.name);
    if (entry.isSymbolicLink()) {
      let target = entryPath;
      try {
        target = realpathSync(entryPath);
      } catch {
        // A dangling link: checkDirectory reports the missing server.json.
      }
      if (!isInside(realRoot, target)) {
        return {
          problems: [
            {
              file: displayPath(path.join(entryPath, SERVER_FILE)),
              path: '$',
              rule: 'registry-layout',
              message: `symlink points outside the registry (to ${target}); registry files must live in the repository`,
            },
          ],
          warnings: [],
        };
      }
    }
    return checkDirectory(root, realRoot, entry.name);
  });

  const specs: ServerSpec[] = [];
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const byName = new Map<string, string>();
  for (const result of results) {
    problems.push(...result.problems);
    warnings.push(...result.warnings);
    if (!result.spec) continue;
    const first = byName.get(result.spec.name);
    if (first !== undefined) {
      problems.push({
        file: result.spec.source,
        path: 'name',
        rule: 'registry-layout',
        message: `"${result.spec.name}" is already registered by ${first}; each server needs a unique name`,
      });
      continue;
    }
    byName.set(result.spec.name, result.spec.source);
    specs.push(result.spec);
  }
  return { specs, problems, warnings, checked: serverDirs.length };
}
